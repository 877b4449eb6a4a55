// resolve_bench.cc: resolver throughput on a compiled image, single thread.
//
//   resolve_bench IMAGE ADDRESS_FILE [SECONDS]
//
// Resolves the addresses of ADDRESS_FILE (one per line) round-robin for
// SECONDS (default 3) without recording trace steps, as the daemon does,
// and prints resolutions per second, with and without smtpd's recipient
// check. A benchmark, not a test: numbers depend on the machine.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/image/image.h"
#include "runtime/resolve/resolver.h"

namespace {

double Measure(const postern::resolve::Resolver& resolver, const std::vector<std::string>& addresses,
               const postern::resolve::ResolveOptions& options, double seconds, size_t* results) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  size_t done = 0;
  size_t delivered = 0;
  while (Clock::now() < deadline) {
    for (int batch = 0; batch < 1000; ++batch) {
      const std::string& address = addresses[done % addresses.size()];
      delivered += resolver.Resolve(address, options).results.size();
      ++done;
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  *results = delivered;
  return static_cast<double>(done) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: resolve_bench IMAGE ADDRESS_FILE [SECONDS]\n");
    return 2;
  }
  double seconds = argc > 3 ? std::stod(argv[3]) : 3.0;
  auto image = postern::image::Image::Load(argv[1]);
  if (!image.ok()) {
    std::fprintf(stderr, "resolve_bench: %s\n", image.status().message().c_str());
    return 2;
  }
  std::vector<std::string> addresses;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) addresses.push_back(line);
  }
  if (addresses.empty()) return 2;
  postern::resolve::Resolver resolver(*image);
  postern::resolve::ResolveOptions options;
  options.record_steps = false;
  size_t results = 0;
  options.smtpd_checks = false;
  double queued = Measure(resolver, addresses, options, seconds, &results);
  options.smtpd_checks = true;
  double with_check = Measure(resolver, addresses, options, seconds, &results);
  std::printf("resolutions_per_second %.0f\nresolutions_per_second_with_rcpt_check %.0f\naddresses %zu\n", queued,
              with_check, addresses.size());
  return 0;
}
