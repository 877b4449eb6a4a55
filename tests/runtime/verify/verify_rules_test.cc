// verify_rules_test.cc: the address verification cache's rules (when a
// probe is sent, how long results are kept, what a result replaces), and
// the SQLite cache two handles share as posternd's two processes do.
#include "runtime/verify/verify_rules.h"

#include <gtest/gtest.h>

#include "runtime/verify/address_verifier.h"
#include "runtime/verify/verify_cache.h"
#include "tests/runtime/temp_directory.h"

namespace postern::verify {
namespace {

using mail::AddressStatus;
using Kind = CacheChange::Kind;

constexpr int64_t kNow = 1'800'000'000;

TEST(VerifyRulesTest, AnUnknownAddressIsProbedAndRecordedInProgress) {
  QueryResult r = Query(std::nullopt, VerifyRules{}, kNow);
  EXPECT_EQ(r.status, AddressStatus::kInProgress);
  EXPECT_EQ(r.text, "Address verification in progress");
  EXPECT_TRUE(r.probe);
  ASSERT_EQ(r.change.kind, Kind::kPut);
  EXPECT_EQ(r.change.entry, (VerifyEntry{AddressStatus::kInProgress, kNow, 0, "Address verification in progress"}));
}

TEST(VerifyRulesTest, AProbeOnItsWayIsNotSentAgain) {
  VerifyEntry pending{AddressStatus::kInProgress, kNow - 10, 0, "Address verification in progress"};
  QueryResult r = Query(pending, VerifyRules{}, kNow);
  EXPECT_EQ(r.status, AddressStatus::kInProgress);
  EXPECT_FALSE(r.probe);
  EXPECT_EQ(r.change.kind, Kind::kNone);
  // After 1000 seconds without an answer it is taken as lost.
  EXPECT_TRUE(Query(pending, VerifyRules{}, kNow + kProbeTtl).probe);
}

TEST(VerifyRulesTest, ResultsAreKeptAndRefreshedAsConfigured) {
  VerifyRules rules;
  VerifyEntry ok{AddressStatus::kDeliverable, 0, kNow, "250 2.1.5 Ok"};
  QueryResult fresh = Query(ok, rules, kNow + 3600);
  EXPECT_EQ(fresh.status, AddressStatus::kDeliverable);
  EXPECT_FALSE(fresh.probe);
  // Past the refresh time: still deliverable, and probed again.
  QueryResult refresh = Query(ok, rules, kNow + rules.positive_refresh + 1);
  EXPECT_EQ(refresh.status, AddressStatus::kDeliverable);
  EXPECT_TRUE(refresh.probe);
  EXPECT_EQ(refresh.change.entry.probed, kNow + rules.positive_refresh + 1);
  EXPECT_EQ(refresh.change.entry.updated, kNow);
  // Past the expiry: as if unknown.
  EXPECT_EQ(Query(ok, rules, kNow + rules.positive_expire + 1).status, AddressStatus::kInProgress);
  VerifyEntry bad{AddressStatus::kUndeliverable, 0, kNow, "host mx said: 550 unknown"};
  EXPECT_FALSE(Query(bad, rules, kNow + rules.negative_refresh).probe);
  EXPECT_TRUE(Query(bad, rules, kNow + rules.negative_refresh + 1).probe);
  EXPECT_EQ(Query(bad, rules, kNow + rules.negative_expire + 1).status, AddressStatus::kInProgress);
}

TEST(VerifyRulesTest, WithoutNegativeCachingFailuresAreNotKept) {
  VerifyRules rules;
  rules.negative_cache = false;
  QueryResult r = Query(std::nullopt, rules, kNow);
  EXPECT_TRUE(r.probe);
  EXPECT_EQ(r.change.kind, Kind::kNone);  // nothing stored for an address never learned
  EXPECT_EQ(RecordResult(std::nullopt, AddressStatus::kUndeliverable, "no", rules, kNow).kind, Kind::kNone);
  EXPECT_EQ(RecordResult(std::nullopt, AddressStatus::kDeliverable, "ok", rules, kNow).kind, Kind::kPut);
  VerifyEntry old_bad{AddressStatus::kUndeliverable, 0, kNow - rules.negative_expire - 1, "no"};
  EXPECT_EQ(Query(old_bad, rules, kNow).change.kind, Kind::kDelete);
}

TEST(VerifyRulesTest, AFailedProbeDoesNotReplaceADeliverableAddress) {
  VerifyRules rules;
  VerifyEntry ok{AddressStatus::kDeliverable, kNow - 5, kNow - 86400 * 8, "250 Ok"};
  EXPECT_EQ(RecordResult(ok, AddressStatus::kDeferred, "timeout", rules, kNow).kind, Kind::kNone);
  CacheChange better = RecordResult(ok, AddressStatus::kDeliverable, "250 2.1.5 Ok", rules, kNow);
  EXPECT_EQ(better.entry, (VerifyEntry{AddressStatus::kDeliverable, 0, kNow, "250 2.1.5 Ok"}));
  VerifyEntry pending{AddressStatus::kInProgress, kNow - 5, 0, "Address verification in progress"};
  EXPECT_EQ(RecordResult(pending, AddressStatus::kUndeliverable, "550 no", rules, kNow).entry.status,
            AddressStatus::kUndeliverable);
}

TEST(VerifyRulesTest, CleanupKeepsProbesOnTheirWayAndUnexpiredEntries) {
  VerifyRules rules;
  EXPECT_TRUE(KeepInCache({AddressStatus::kInProgress, kNow - 10, 0, ""}, rules, kNow));
  EXPECT_FALSE(KeepInCache({AddressStatus::kInProgress, kNow - kProbeTtl, 0, ""}, rules, kNow));
  EXPECT_TRUE(KeepInCache({AddressStatus::kDeliverable, 0, kNow - 86400, ""}, rules, kNow));
  EXPECT_FALSE(KeepInCache({AddressStatus::kUndeliverable, 0, kNow - rules.negative_expire - 1, ""}, rules, kNow));
}

TEST(VerifyCacheTest, TwoHandlesShareOneDatabase) {
  postern::testing::TempDirectory dir;
  std::string path = VerifyCachePath(dir.path());
  auto smtp = VerifyCache::Open(path);
  auto delivery = VerifyCache::Open(path);
  ASSERT_TRUE(smtp.ok()) << smtp.status().message();
  ASSERT_TRUE(delivery.ok()) << delivery.status().message();
  VerifyEntry pending{AddressStatus::kInProgress, kNow, 0, "Address verification in progress"};
  ASSERT_TRUE((*smtp)
                  ->Change("bob@example.com",
                           [&](const auto& stored) {
                             EXPECT_FALSE(stored.has_value());
                             return CacheChange{Kind::kPut, pending};
                           })
                  .ok());
  ASSERT_TRUE((*delivery)
                  ->Change("bob@example.com",
                           [&](const std::optional<VerifyEntry>& stored) {
                             EXPECT_EQ(stored, pending);
                             return RecordResult(stored, AddressStatus::kUndeliverable, "550 5.1.1 unknown",
                                                 VerifyRules{}, kNow + 1);
                           })
                  .ok());
  auto seen = (*smtp)->Get("bob@example.com");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, (VerifyEntry{AddressStatus::kUndeliverable, 0, kNow + 1, "550 5.1.1 unknown"}));
  EXPECT_FALSE((*smtp)->Get("Bob@example.com")->has_value());  // keys are the addresses as asked
  auto removed = (*smtp)->Clean([](const VerifyEntry& e) { return e.status != AddressStatus::kUndeliverable; });
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE((*delivery)->Get("bob@example.com")->has_value());
}

TEST(AddressVerifierTest, TheFirstQuerySendsOneProbe) {
  postern::testing::TempDirectory dir;
  auto cache = VerifyCache::Open(VerifyCachePath(dir.path()));
  ASSERT_TRUE(cache.ok());
  std::vector<std::pair<std::string, std::string>> probes;
  int64_t now = kNow;
  AddressVerifier verifier(
      std::move(cache).value(),
      [&](const std::string& sender, const std::string& address) {
        probes.emplace_back(sender, address);
        return Status::Ok();
      },
      [&] { return now; });
  VerifierSettings settings;
  settings.sender = "double-bounce@example.com";
  verifier.Configure(settings);
  mail::AddressVerification first = verifier.Query("bob@example.com");
  EXPECT_FALSE(first.failed);
  EXPECT_EQ(first.status, AddressStatus::kInProgress);
  now += 3;
  EXPECT_EQ(verifier.Query("bob@example.com").status, AddressStatus::kInProgress);
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(probes[0], (std::pair<std::string, std::string>{"double-bounce@example.com", "bob@example.com"}));
}

TEST(AddressVerifierTest, AProbeThatCannotBeQueuedIsAServiceFailure) {
  postern::testing::TempDirectory dir;
  auto cache = VerifyCache::Open(VerifyCachePath(dir.path()));
  ASSERT_TRUE(cache.ok());
  AddressVerifier verifier(
      std::move(cache).value(), [](const std::string&, const std::string&) { return Status::Temporary("disk full"); },
      [] { return kNow; });
  mail::AddressVerification answer = verifier.Query("bob@example.com");
  EXPECT_TRUE(answer.failed);
  EXPECT_EQ(answer.text, "cannot queue a probe: disk full");
}

}  // namespace
}  // namespace postern::verify
