// local_helper.h: local delivery with the recipient's privileges, as
// local(8) does it, while posternd itself runs unprivileged.
//
// Started as root before posternd drops its privileges, the helper is a
// set of processes (one per channel, single-threaded) that keep root and do
// nothing but local deliveries:
// for each request it forks a worker that becomes the recipient (or
// default_privs for an alias's /file or |command, whose local part is not
// a user), never root, and runs DeliverLocally there. posternd talks to it
// over socket pairs (one per concurrent delivery); when posternd exits,
// the sockets close and the helper ends.
//
// Which privileges: the recipient's local part (without its extension)
// looked up in the user database (posternd --users, else the system's):
// a known user other than root is that user, with the user's group, or
// the group of mail_spool_directory for a mailbox there (Debian's
// /var/mail is root:mail 2775, as for set-gid mail clients); anyone else
// is default_privs. The helper never runs a delivery as uid 0.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mail/lookup_table.h"
#include "runtime/delivery/local_delivery.h"
#include "util/status.h"

namespace postern::delivery {

// What the helper needs besides the request (from the image, per request).
struct LocalPrivileges {
  std::string default_privs = "nobody";       // default_privs
  std::string spool_directory = "/var/mail";  // mail_spool_directory
};

class LocalHelper {
 public:
  // Forks the helper: `channels` processes, one connection each. `users` stands in for
  // the system's user database when not null (passwd(5) lines by name).
  static Result<std::unique_ptr<LocalHelper>> Start(std::shared_ptr<const mail::LookupTable> users, int channels = 4);
  ~LocalHelper();  // closes the channels; the helper exits
  LocalHelper(const LocalHelper&) = delete;
  LocalHelper& operator=(const LocalHelper&) = delete;

  // Blocking; thread-safe (waits for a free channel).
  RecipientResult Deliver(const LocalRequest& request, const LocalPrivileges& privileges);

 private:
  LocalHelper(std::vector<pid_t> pids, std::vector<int> channels);

  std::vector<pid_t> pids_;  // one helper process per channel
  std::mutex mutex_;
  std::vector<int> free_;  // channel sockets not in use
  std::vector<int> all_;
  std::condition_variable_any available_;
};

}  // namespace postern::delivery
