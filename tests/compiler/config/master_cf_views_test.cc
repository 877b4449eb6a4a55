// master_cf_views_test.cc: `postern conf -M/-F/-P` output, as Debian's
// postconf prints it (the differential test compares the two on every
// configuration it has; these pin the rules).
#include "compiler/config/master_cf_views.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace postern::config {
namespace {

MasterCf Parse(const std::string& text) {
  DiagnosticSink sink;
  MasterCf master = ParseMasterCf(std::make_shared<const SourceFile>("master.cf", text), &sink);
  EXPECT_FALSE(sink.has_errors());
  return master;
}

const char kMaster[] =
    "smtp      inet  n       -       y       -       -       smtpd\n"
    "submission inet n - y - 20 smtpd\n"
    "  -o syslog_name=postfix/$service_name\n"
    "  -o { smtpd_recipient_restrictions = permit_mynetworks, reject }\n"
    "  -o syslog_name=again\n"
    "127.0.0.1:10025 inet n - n - - smtpd -o mynetworks=127.0.0.0/8\n"
    "dovecot unix - n n - - pipe flags=DRhu argv=/usr/bin/x { a b } {c}\n";

TEST(MasterCfViewsTest, EntriesInPostconfColumns) {
  MasterViewResult r = RenderMasterView(Parse(kMaster), MasterView::kEntries, {});
  EXPECT_EQ(r.text,
            "smtp       inet  n       -       y       -       -       smtpd\n"
            "submission inet  n       -       y       -       20      smtpd -o syslog_name=postfix/$service_name "
            "-o {smtpd_recipient_restrictions=permit_mynetworks, reject} -o syslog_name=again\n"
            "127.0.0.1:10025 inet n   -       n       -       -       smtpd -o mynetworks=127.0.0.0/8\n"
            "dovecot    unix  -       n       n       -       -       pipe flags=DRhu argv=/usr/bin/x {a b} c\n");
}

TEST(MasterCfViewsTest, EntriesOncePerSelectorThatPicksThem) {
  MasterViewResult r = RenderMasterView(Parse(kMaster), MasterView::kEntries, {"submission/inet", "*/inet", "x"});
  EXPECT_EQ(r.text.find("smtp       inet"), 0u);
  EXPECT_EQ(std::count(r.text.begin(), r.text.end(), '\n'), 4);  // submission twice
  EXPECT_EQ(r.unmatched, std::vector<std::string>{"x"});
}

TEST(MasterCfViewsTest, FieldsPerServiceInSelectorOrder) {
  MasterViewResult r =
      RenderMasterView(Parse(kMaster), MasterView::kFields, {"submission/inet/process_limit", "*/*/chroot"});
  EXPECT_EQ(r.text,
            "smtp/inet/chroot = y\n"
            "submission/inet/process_limit = 20\n"
            "submission/inet/chroot = y\n"
            "127.0.0.1:10025/inet/chroot = n\n"
            "dovecot/unix/chroot = n\n");
}

TEST(MasterCfViewsTest, ParametersByNameTheLastOverrideWinning) {
  MasterViewResult r = RenderMasterView(Parse(kMaster), MasterView::kParameters, {});
  EXPECT_EQ(r.text,
            "submission/inet/smtpd_recipient_restrictions = permit_mynetworks, reject\n"
            "submission/inet/syslog_name = again\n"
            "127.0.0.1:10025/inet/mynetworks = 127.0.0.0/8\n");
  EXPECT_EQ(RenderMasterView(Parse(kMaster), MasterView::kParameters, {"*/*/mynetworks"}).text,
            "127.0.0.1:10025/inet/mynetworks = 127.0.0.0/8\n");
}

}  // namespace
}  // namespace postern::config
