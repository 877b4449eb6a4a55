// connection_registry_test.cc: the server's drain: the registry counts
// sessions per service and says once when the last one is gone.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "runtime/daemon/serving.h"

namespace postern::daemon {
namespace {

TEST(ConnectionRegistryTest, CountsPerServiceAndDrains) {
  ConnectionRegistry registry;
  int drained = 0;
  registry.OnEmpty([&drained] { ++drained; });
  EXPECT_EQ(drained, 1);  // nothing to wait for
  uint64_t a = registry.Add({}, "smtp"), b = registry.Add({}, "smtp"), c = registry.Add({}, "submission");
  EXPECT_EQ(registry.size(), 3u);
  EXPECT_EQ(registry.Count("smtp"), 2u);
  EXPECT_EQ(registry.Count("submission"), 1u);
  registry.OnEmpty([&drained] { ++drained; });
  registry.Remove(a);
  registry.Remove(c);
  EXPECT_EQ(drained, 1);
  EXPECT_EQ(registry.Count("submission"), 0u);
  registry.Remove(b);
  EXPECT_EQ(drained, 2);
  registry.Remove(b);  // unknown: nothing
  uint64_t d = registry.Add({}, "smtp");
  registry.Remove(d);
  EXPECT_EQ(drained, 2);  // once per OnEmpty
}

TEST(ConnectionRegistryTest, TheLastOfManyThreadsDrainsOnce) {
  ConnectionRegistry registry;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 800; ++i) ids.push_back(registry.Add({}, "smtp"));
  std::atomic<int> drained{0};
  registry.OnEmpty([&drained] { ++drained; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < ids.size(); i += 8) registry.Remove(ids[i]);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(drained.load(), 1);
  EXPECT_EQ(registry.size(), 0u);
}

}  // namespace
}  // namespace postern::daemon
