// milter_protocol_test.cc: the milter wire format: packets as libmilter
// frames them, replies read from bytes that arrive in pieces, the option
// negotiation with the milter's own macro lists, broken packets refused.
#include "runtime/milter/milter_protocol.h"

#include <gtest/gtest.h>

namespace postern::milter {
namespace {

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

TEST(MilterProtocolTest, PacketsHaveALengthACommandAndData) {
  EXPECT_EQ(Packet(command::kQuit, ""), Bytes({0, 0, 0, 1, 'Q'}));
  EXPECT_EQ(Packet(command::kHelo, std::string("mx\0", 3)), Bytes({0, 0, 0, 4, 'H', 'm', 'x', 0}));
  EXPECT_EQ(OptionNegotiation(6, kAllActions, 0x1fffff),
            Bytes({0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff}));
  EXPECT_EQ(Macros(command::kMail, {{"i", "ABC"}, {"{auth_type}", ""}}),
            Packet(command::kMacro, std::string("Mi\0ABC\0{auth_type}\0\0", 20)));
}

TEST(MilterProtocolTest, ConnectDataByFamily) {
  EXPECT_EQ(ConnectData("mx.example", '4', 25, "192.0.2.1"), std::string("mx.example\0"
                                                                         "4\0\x19"
                                                                         "192.0.2.1\0",
                                                                         24));
  EXPECT_EQ(ConnectData("[::1]", 'U', 0, ""), std::string("[::1]\0U", 7));
}

TEST(MilterProtocolTest, StepsOfOlderVersionsLackWhatTheyDoNotKnow) {
  EXPECT_EQ(ProtocolStepsOf(2, false) & (kNoUnknown | kNoData | kSkip), 0u);
  EXPECT_NE(ProtocolStepsOf(4, false) & kNoData, 0u);
  EXPECT_EQ(ProtocolStepsOf(4, false) & kNoHeaderReply, 0u);
  EXPECT_NE(ProtocolStepsOf(4, true) & kNoHeaderReply, 0u);
  EXPECT_NE(ProtocolStepsOf(6, false) & kHeaderLeadingSpace, 0u);
}

TEST(MilterProtocolTest, RepliesAreReadAsTheyArrive) {
  PacketReader reader;
  std::string wire = Packet(kReplyContinue, "") + Packet(kReplyReplyCode, std::string("550 5.7.1 no\0", 13));
  reader.Feed(wire.substr(0, 3));
  ASSERT_TRUE(reader.Next().ok());
  EXPECT_FALSE(reader.Next()->has_value());
  reader.Feed(wire.substr(3, 5));
  auto first = reader.Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->code, kReplyContinue);
  EXPECT_FALSE(reader.Next()->has_value());
  reader.Feed(wire.substr(8));
  auto second = reader.Next();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->code, kReplyReplyCode);
  EXPECT_EQ((*second)->data, std::string("550 5.7.1 no\0", 13));
}

TEST(MilterProtocolTest, ALengthOfZeroOrOverTheLimitIsAnError) {
  PacketReader empty;
  empty.Feed(Bytes({0, 0, 0, 0}));
  EXPECT_FALSE(empty.Next().ok());
  PacketReader huge;
  huge.Feed(Bytes({0x7f, 0xff, 0xff, 0xff, 'b'}));
  EXPECT_FALSE(huge.Next().ok());
}

TEST(MilterProtocolTest, NegotiationWithMacroLists) {
  std::string data = Bytes({0, 0, 0, 6, 0, 0, 0, 0x21, 0, 0, 0x10, 0x02});
  data += Bytes({0, 0, 0, 2}) + std::string("{mail_addr} i\0", 14);
  data += Bytes({0, 0, 0, 9}) + std::string("x\0", 2);  // an unknown stage: ignored
  Result<Negotiated> n = ParseNegotiation(data);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->version, 6u);
  EXPECT_EQ(n->actions, kActionAddHeaders | kActionQuarantine);
  EXPECT_EQ(n->steps, kNoReplyConnect | kNoHelo);
  ASSERT_EQ(n->macro_lists.size(), 1u);
  EXPECT_EQ(n->macro_lists[0].first, MacroStage::kMail);
  EXPECT_EQ(n->macro_lists[0].second, "{mail_addr} i");
  EXPECT_FALSE(ParseNegotiation(Bytes({0, 0, 0, 6})).ok());
  EXPECT_FALSE(ParseNegotiation(data.substr(0, data.size() - 1)).ok());  // a list without its NUL
}

TEST(MilterProtocolTest, StringsAndIndexedStrings) {
  auto strings = ParseStrings(std::string("<a@b>\0NOTIFY=NEVER\0", 19));
  ASSERT_TRUE(strings.ok());
  EXPECT_EQ(*strings, (std::vector<std::string>{"<a@b>", "NOTIFY=NEVER"}));
  EXPECT_FALSE(ParseStrings("no terminator").ok());
  auto indexed = ParseIndexedStrings(Bytes({0, 0, 0, 2}) + std::string("Subject\0new\0", 12));
  ASSERT_TRUE(indexed.ok());
  EXPECT_EQ(indexed->first, 2u);
  EXPECT_EQ(indexed->second, (std::vector<std::string>{"Subject", "new"}));
  EXPECT_FALSE(ParseIndexedStrings("ab").ok());
}

}  // namespace
}  // namespace postern::milter
