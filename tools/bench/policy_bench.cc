// policy_bench.cc: policy VM throughput, single thread.
//
//   policy_bench IMAGE [SECONDS]
//
// Evaluates the rcpt stage for a typical outside client sending to a relay
// domain (every list runs to its end: the most work a permitted recipient
// costs) and for a relay attempt, round-robin, without the recipient check
// that follows the stage. (A local recipient adds the user lookup, which
// for unix:passwd.byname is the system's getpwnam.) Prints evaluations per second and nanoseconds per
// evaluation. A benchmark, not a test.
#include <chrono>
#include <cstdio>
#include <string>

#include "runtime/image/image.h"
#include "runtime/resolve/resolver.h"
#include "runtime/vm/policy_vm.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: policy_bench IMAGE [SECONDS]\n");
    return 2;
  }
  double seconds = argc > 2 ? std::stod(argv[2]) : 3.0;
  auto image = postern::image::Image::Load(argv[1]);
  if (!image.ok()) {
    std::fprintf(stderr, "policy_bench: %s\n", image.status().message().c_str());
    return 2;
  }
  auto resolver = std::make_shared<const postern::resolve::Resolver>(*image);
  postern::vm::PolicyVm vm(*image, resolver);
  postern::vm::SmtpFacts local;
  local.client_address = "203.0.113.5";
  local.client_name = "mail.outside.example";
  local.reverse_client_name = local.client_name;
  local.helo = "mail.outside.example";
  local.sender = "someone@outside.example";
  local.has_sender = true;
  local.recipient = "anyone@partner.example";
  postern::vm::SmtpFacts relay = local;
  relay.recipient = "someone@elsewhere.example";

  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  size_t runs = 0, rejected = 0;
  while (Clock::now() < deadline) {
    for (int i = 0; i < 1000; ++i) {
      const auto& facts = (i & 1) ? relay : local;
      rejected += vm.Run(postern::vm::VmStage::kRcpt, facts).kind != postern::vm::Decision::Kind::kAccept;
      ++runs;
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("evaluations_per_second %.0f\nns_per_evaluation %.0f\nrejected %zu\n",
              static_cast<double>(runs) / elapsed, 1e9 * elapsed / static_cast<double>(runs), rejected);
  return 0;
}
