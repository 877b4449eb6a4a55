// rate_counter_test.cc: sliding-window counts per (field, value, window),
// one count per evaluation, forgetting old events.
#include "runtime/daemon/rate_counter.h"

#include <gtest/gtest.h>

namespace postern::daemon {
namespace {

TEST(RateCounterTest, CountsEvaluationsInTheWindow) {
  int64_t now = 1000;
  RateCounter rates([&now] { return now; });
  EXPECT_EQ(rates.Count("client.ip", "192.0.2.1", 60, 1), 1);
  EXPECT_EQ(rates.Count("client.ip", "192.0.2.1", 60, 1), 1);  // same evaluation: counted once
  EXPECT_EQ(rates.Count("client.ip", "192.0.2.1", 60, 2), 2);
  EXPECT_EQ(rates.Count("client.ip", "192.0.2.2", 60, 3), 1);  // another value
  EXPECT_EQ(rates.Count("sender", "192.0.2.1", 60, 4), 1);     // another field
  now += 30;
  EXPECT_EQ(rates.Count("client.ip", "192.0.2.1", 60, 5), 3);
  now += 45;  // the first two are older than a minute now
  EXPECT_EQ(rates.Count("client.ip", "192.0.2.1", 60, 6), 2);
  now += 3600;
  EXPECT_EQ(rates.Count("client.ip", "192.0.2.1", 60, 7), 1);
  EXPECT_EQ(rates.Count("client.ip", "192.0.2.1", 3600, 8), 1);  // a window of its own
}

}  // namespace
}  // namespace postern::daemon
