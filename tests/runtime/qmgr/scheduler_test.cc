// scheduler_test.cc: the queue manager's scheduling decisions, with the
// time given by the test: concurrency windows per destination and in all,
// connection reuse shares, suspension of a destination whose hosts all
// failed and its end, deliveries a lost connection never reached, and the
// retry interval.
#include "runtime/qmgr/scheduler.h"

#include <gtest/gtest.h>

namespace postern::qmgr {
namespace {

const DestinationKey kMx{"smtp", "example.com"};
const DestinationKey kOther{"smtp", "example.net"};
const DestinationKey kLocal{"local", "mx.example.org"};

std::vector<JobId> Started(const Scheduler::Decisions& d) {
  std::vector<JobId> ids;
  for (const Scheduler::Batch& b : d.start) ids.insert(ids.end(), b.jobs.begin(), b.jobs.end());
  return ids;
}

TEST(SchedulerTest, ADestinationRunsAtMostItsConcurrency) {
  Scheduler s;
  for (JobId j = 1; j <= 5; ++j) s.Add(kLocal, 2, /*reusable=*/false, j);
  Scheduler::Decisions d = s.Next(1000, 100);
  ASSERT_EQ(d.start.size(), 2u);
  EXPECT_EQ(Started(d), (std::vector<JobId>{1, 2}));
  EXPECT_EQ(s.running(), 2);
  EXPECT_TRUE(s.Next(1000, 100).start.empty());  // the window is full
  s.Finished(kLocal, {}, 1001, 300);
  EXPECT_EQ(Started(s.Next(1001, 100)), (std::vector<JobId>{3}));
  EXPECT_EQ(s.waiting(), 2u);
}

TEST(SchedulerTest, AllDestinationsTogetherRunAtMostTheProcessLimit) {
  Scheduler s;
  for (JobId j = 1; j <= 3; ++j) s.Add(kLocal, 20, false, j);
  for (JobId j = 11; j <= 13; ++j) s.Add(kMx, 20, false, j);
  EXPECT_EQ(s.Next(0, 4).start.size(), 4u);
  EXPECT_EQ(s.running(), 4);
  EXPECT_TRUE(s.Next(0, 4).start.empty());
}

TEST(SchedulerTest, AReusableBacklogIsSharedAmongConnections) {
  Scheduler s;
  for (JobId j = 1; j <= 41; ++j) s.Add(kMx, 2, /*reusable=*/true, j);
  Scheduler::Decisions d = s.Next(0, 100);
  ASSERT_EQ(d.start.size(), 2u);
  // The first connection takes 1 + 40/2 = 21, capped at kReuseLimit.
  EXPECT_EQ(d.start[0].jobs.size(), Scheduler::kReuseLimit);
  EXPECT_EQ(d.start[0].jobs.front(), 1u);
  EXPECT_EQ(d.start[1].jobs.front(), 21u);
  EXPECT_EQ(s.waiting(), 41u - d.start[0].jobs.size() - d.start[1].jobs.size());
}

TEST(SchedulerTest, HostsThatAllFailedSuspendTheDestinationForTheBackoff) {
  Scheduler s;
  s.Add(kMx, 20, true, 1);
  ASSERT_EQ(s.Next(100, 100).start.size(), 1u);
  s.Add(kMx, 20, true, 2);
  s.Add(kOther, 20, true, 3);
  Scheduler::BatchResult failed;
  failed.hosts_failed = true;
  failed.why = "connect to mx.example.com[192.0.2.1]:25: Connection refused";
  s.Finished(kMx, failed, 100, 300);
  EXPECT_TRUE(s.suspended(kMx, 399));
  Scheduler::Decisions d = s.Next(200, 100);
  ASSERT_EQ(d.suspended.size(), 1u);  // deferred at once, no connection queued
  EXPECT_EQ(d.suspended[0].job, 2u);
  EXPECT_EQ(d.suspended[0].why, failed.why);
  EXPECT_EQ(Started(d), (std::vector<JobId>{3}));  // other destinations go on
  // After minimal_backoff_time the destination is tried again.
  s.Add(kMx, 20, true, 4);
  EXPECT_FALSE(s.suspended(kMx, 400));
  EXPECT_EQ(Started(s.Next(400, 100)), (std::vector<JobId>{4}));
}

TEST(SchedulerTest, AFlushOrADeliveryLiftsASuspension) {
  Scheduler s;
  s.Add(kMx, 20, true, 1);
  s.Next(0, 100);
  Scheduler::BatchResult failed;
  failed.hosts_failed = true;
  s.Finished(kMx, failed, 0, 300);
  s.ResumeAll();
  s.Add(kMx, 20, true, 2);
  EXPECT_EQ(Started(s.Next(1, 100)), (std::vector<JobId>{2}));
  s.Finished(kMx, failed, 1, 300);
  s.Add(kMx, 20, true, 3);
  s.Add(kMx, 20, true, 4);
  // (suspended: 3 and 4 come back to be deferred)
  EXPECT_EQ(s.Next(2, 100).suspended.size(), 2u);
  s.Add(kMx, 20, true, 5);
  Scheduler::BatchResult delivered;
  delivered.delivered_any = true;
  s.ResumeAll();
  ASSERT_EQ(Started(s.Next(3, 100)), (std::vector<JobId>{5}));
  s.Finished(kMx, delivered, 3, 300);
  EXPECT_FALSE(s.suspended(kMx, 3));
}

TEST(SchedulerTest, DeliveriesALostConnectionNeverReachedWaitFirst) {
  Scheduler s;
  for (JobId j = 1; j <= 6; ++j) s.Add(kMx, 1, true, j);
  Scheduler::Decisions d = s.Next(0, 100);
  ASSERT_EQ(d.start.size(), 1u);
  ASSERT_EQ(d.start[0].jobs, (std::vector<JobId>{1, 2, 3, 4, 5, 6}));
  Scheduler::BatchResult lost;
  lost.unfinished = {4, 5, 6};
  s.Finished(kMx, lost, 1, 300);
  s.Add(kMx, 1, true, 7);
  d = s.Next(1, 100);
  ASSERT_EQ(d.start.size(), 1u);
  EXPECT_EQ(d.start[0].jobs, (std::vector<JobId>{4, 5, 6, 7}));
}

TEST(SchedulerTest, TheRetryIntervalDoublesWithinTheBackoffLimits) {
  EXPECT_EQ(NextAttemptDelay(10, 300, 4000), 300);
  EXPECT_EQ(NextAttemptDelay(1000, 300, 4000), 1000);
  EXPECT_EQ(NextAttemptDelay(100000, 300, 4000), 4000);
  EXPECT_EQ(NextAttemptDelay(100000, 300, 100), 300);  // a maximum below the minimum: the minimum
}

}  // namespace
}  // namespace postern::qmgr
