// policy_program_test.cc: the bytecode container: round trip through its
// encoding, and a verifier that refuses every malformed program.
#include "mail/policy_program.h"

#include <gtest/gtest.h>

namespace postern::mail {
namespace {

// A small valid program: one list (permit_mynetworks, relay check), used
// by the rcpt stage; the other stages accept.
Program Sample() {
  Program p;
  p.constants = {"smtpd_relay_restrictions", "554 5.7.1 <{recipient}>: Relay access denied"};
  p.code = {
      Inst{},                                                       // 0 trap
      Inst{Op::kListStart, Predicate::kNone, 0, 0, 0},              // 1
      Inst{Op::kPermitIf, Predicate::kMynetworks, 0, 0, 0},         // 2
      Inst{Op::kReplyIf, Predicate::kNotAuthDestination, 0, 1, 0},  // 3
      Inst{Op::kReturn, Predicate::kNone, 0, 0, 0},                 // 4
      Inst{Op::kAccept, Predicate::kNone, 0, 0, 0},                 // 5: connect, helo, mail, data, eod
      Inst{Op::kRunList, Predicate::kNone, 3, 1, 0},                // 6: rcpt
      Inst{Op::kAccept, Predicate::kNone, 0, 0, 0},                 // 7
  };
  p.entry = {5, 5, 5, 6, 5, 5};
  return p;
}

TEST(PolicyProgramTest, RoundTrip) {
  Program p = Sample();
  auto decoded = DecodeProgram(EncodeProgram(p));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(Dump(*decoded), Dump(p));
  EXPECT_TRUE(Verify(*decoded).ok());
}

TEST(PolicyProgramTest, DumpNamesOperands) {
  std::string dump = Dump(Sample());
  EXPECT_NE(dump.find("0003  reply_if        not_auth_destination \"554 5.7.1 <{recipient}>: Relay access denied\""),
            std::string::npos)
      << dump;
  EXPECT_NE(dump.find("0006  run_list        1  ; \"smtpd_relay_restrictions\""), std::string::npos) << dump;
}

TEST(PolicyProgramTest, VerifierRefusesMalformedPrograms) {
  struct Case {
    const char* what;
    void (*damage)(Program*);
  };
  const Case cases[] = {
      {"instruction 0 not the trap", [](Program* p) { p->code[0].op = Op::kAccept; }},
      {"run_list to a non-list", [](Program* p) { p->code[6].a = 2; }},
      {"run_list out of range", [](Program* p) { p->code[6].a = 99; }},
      {"constant out of range", [](Program* p) { p->code[3].a = 7; }},
      {"test without predicate", [](Program* p) { p->code[2].pred = Predicate::kNone; }},
      {"list not closed", [](Program* p) { p->code[4].op = Op::kPermit; }},
      {"stage op inside a list",
       [](Program* p) {
         p->code[2] = Inst{Op::kAccept, Predicate::kNone, 0, 0, 0};
       }},
      {"stage block without accept", [](Program* p) { p->entry[3] = 2; }},
      {"call into the middle of a list",
       [](Program* p) {
         p->code[2] = Inst{Op::kCall, Predicate::kNone, 0, 3, 0};
       }},
      {"access spec out of range",
       [](Program* p) {
         p->code[2] = Inst{Op::kAccess, Predicate::kNone, 0, 0, 0};
       }},
  };
  for (const Case& c : cases) {
    Program p = Sample();
    c.damage(&p);
    EXPECT_FALSE(Verify(p).ok()) << c.what;
  }
}

TEST(PolicyProgramTest, DecodeRefusesTruncationAndBadOpcodes) {
  std::string bytes = EncodeProgram(Sample());
  for (size_t cut : {size_t{0}, size_t{7}, size_t{20}, bytes.size() - 1}) {
    EXPECT_FALSE(DecodeProgram(std::string_view(bytes).substr(0, cut)).ok()) << cut;
  }
  std::string bad = bytes;
  bad[16] = static_cast<char>(200);  // first opcode byte
  EXPECT_FALSE(DecodeProgram(bad).ok());
}

}  // namespace
}  // namespace postern::mail
