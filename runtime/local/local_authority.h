// local_authority.h: what the root local delivery helper decides for
// itself, as Postfix's local(8) does, from a request of the unprivileged
// daemon.
//
// The daemon only names a recipient, the local service it was routed to,
// which of that recipient's local deliveries it wants (one of
// Resolver::LocalDeliveries' details), and the image it resolved with.
// Everything that chooses a user, a command, a file or a mailbox is
// recomputed here from that image, which the helper loads itself from the
// images directory it was started with and trusts only when root owns it
// and nobody else can write it. A request whose delivery the image does
// not give that recipient is refused. The message itself (sender,
// content) is data any SMTP client could send too.
//
// A pipe(8) delivery names a pipe service of the image, and the helper
// takes the command, its flags, user=, directory=, chroot=, size= and the
// time limit from that service's master.cf entry in the image, never from
// the request. Sender, recipients, nexthop and client attributes are data,
// as pipe(8) takes them from the queue manager: the command runs without a
// shell, and they only fill its macros. user= is never root, group 0 or
// the mail owner (posternd's own user).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mail/lookup_table.h"
#include "mail/pipe_service.h"
#include "runtime/delivery/local_delivery.h"
#include "runtime/delivery/pipe_delivery.h"
#include "runtime/image/image.h"
#include "runtime/resolve/resolver.h"
#include "util/status.h"

namespace postern::local {

// What posternd sends the helper.
struct LocalHelperRequest {
  std::string image_id;   // the image the recipient was resolved with
  std::string transport;  // the master.cf service, a local(8) one
  std::string queue_id;
  std::string sender;  // "" is the null sender
  std::string recipient;
  std::string original_recipient;
  std::string delivery;  // the detail of one of the recipient's local deliveries
  std::string_view content;
  int64_t now = 0;
};

// The uid and gid a delivery runs with, and where it starts.
struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home = "/";
};

// A delivery the helper agreed to make, and as whom.
struct AuthorizedDelivery {
  delivery::LocalRequest request;  // content points into the LocalHelperRequest's
  Identity identity;
};

// What posternd sends the helper for a pipe(8) delivery: one message to
// some of its recipients, through one command.
struct PipeHelperRequest {
  std::string image_id;   // the image the message was routed with
  std::string transport;  // the master.cf service, a pipe(8) one
  std::string queue_id;
  std::string sender;  // "" is the null sender
  std::string nexthop;
  std::string client_address, client_hostname, client_helo, sasl_username;
  std::vector<mail::PipeRecipient> recipients;
  std::string_view content;
  int64_t now = 0;
};

// A pipe delivery the helper agreed to make, and as whom.
struct AuthorizedPipe {
  delivery::PipeRequest request;  // content points into the PipeHelperRequest's
  Identity identity;
  std::string chroot;  // chroot=, entered before the identity is taken
};

// The image `id` from `images` (an images directory, or one image's
// directory), refused unless root owns every directory on its path and
// every file in it and none is writable by group or others.
Result<std::shared_ptr<const image::Image>> LoadTrustedImage(const std::string& images, const std::string& id);

// Decides a request (see the top of the file). `users` is the user
// database (passwd(5) lines by name). Never returns uid 0 or gid 0.
Result<AuthorizedDelivery> Authorize(const LocalHelperRequest& request, const resolve::Resolver& resolver,
                                     const mail::LookupTable& users);

// export_environment: the variables (names, or name=value items) a
// delivery command gets from this process's environment, as local(8) and
// pipe(8) pass them on; PATH is not among them (commands get
// /usr/bin:/bin).
std::vector<std::string> ExportedEnvironment(const image::Image& image);

// The pipe(8) delivery of `request` as the image's service
// `request.transport` defines it: its attributes, <service>_time_limit
// (else command_time_limit), the environment export_environment lets
// through from this process's. An error when the transport is not a pipe
// service of the image or its attributes do not parse (postern check
// refuses those, PC0206). Used by the helper and, when posternd does not
// run as root, by the queue manager itself.
Result<delivery::PipeRequest> PipeDeliveryOf(const PipeHelperRequest& request, const image::Image& image);

// Decides a pipe request (see the top of the file): the delivery, and
// user=name[:group] from `users` (passwd(5) lines by name), else the system's
// user and group databases; never uid 0, gid 0 or `mail_owner`'s.
Result<AuthorizedPipe> AuthorizePipe(const PipeHelperRequest& request, const image::Image& image,
                                     const mail::LookupTable& users, const Identity& mail_owner);

}  // namespace postern::local
