// queue_lock_test.cc: one posternd per queue: a live holder refuses a
// second one at once; the lock a dead daemon's child still holds (a crash,
// its delivery process on its way out) is waited for.
#include "runtime/queue/queue_lock.h"

#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/runtime/temp_directory.h"

namespace postern::queue {
namespace {

TEST(QueueLockTest, ALiveHolderRefusesASecondDaemonAtOnce) {
  testing::TempDirectory dir;
  auto first = QueueLock::Acquire(dir.path());
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto start = std::chrono::steady_clock::now();
  auto second = QueueLock::Acquire(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another posternd (pid " + std::to_string(getpid()) + ")"),
            std::string::npos)
      << second.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(QueueLockTest, TheLockOfADeadDaemonsChildIsWaitedFor) {
  testing::TempDirectory dir;
  std::string path = dir.path() + "/posternd.pid";
  // A pid that is not running: a child that has exited and been reaped.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  std::ofstream(path) << dead << "\n";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {  // the dead daemon's delivery process: holds the lock a little longer
    int fd = open(path.c_str(), O_RDWR);
    flock(fd, LOCK_EX);
    (void)!write(ready[1], "x", 1);
    usleep(300000);
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  auto lock = QueueLock::Acquire(dir.path());
  EXPECT_TRUE(lock.ok()) << lock.status().message();
  waitpid(child, nullptr, 0);
  auto refused = QueueLock::Acquire(dir.path(), std::chrono::milliseconds(0));
  EXPECT_FALSE(refused.ok());  // now held by this live process
  close(ready[0]);
  close(ready[1]);
}

}  // namespace
}  // namespace postern::queue
