// resolver.h: where mail for an address goes, with Postfix's semantics and
// in Postfix's order, from a compiled image:
//
//   smtpd recipient check (unknown local/virtual/relay users are rejected)
//   -> canonical (recipient_canonical_maps, canonical_maps)
//   -> virtual alias expansion (recursive, one-to-many, limits)
//   -> address class (local, virtual alias, virtual mailbox, relay, default)
//   -> transport_maps -> relocated_maps
//   -> for the local delivery agent: aliases, :include:, |command, /file,
//      mailbox or Maildir, unknown users.
//
// The daemon, `postern trace` and the tests all use this one resolver.
// Nothing is executed or written: a resolution only looks things up.
// Immutable after construction; Resolve() is thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/image/image.h"
#include "runtime/resolve/resolution.h"
#include "runtime/resolve/routing_config.h"

namespace postern::resolve {

struct ResolveOptions {
  bool smtpd_checks = true;  // apply smtpd's unknown-recipient rejection first
  bool record_steps = true;  // fill Resolution::steps (off for speed)
};

class Resolver {
 public:
  // `users` stands in for the system's user database when not null.
  explicit Resolver(std::shared_ptr<const image::Image> image,
                    std::shared_ptr<const mail::LookupTable> users = nullptr);

  // A table that fails to answer (mail/lookup_failure.h) makes the whole
  // resolution one deferral, "451 4.3.0 address resolver failure".
  Resolution Resolve(std::string_view recipient, const ResolveOptions& options = {}) const;
  // Sender rewriting (sender_canonical_maps, canonical_maps).
  std::string RewriteSender(std::string_view sender, Resolution* trace) const;

  // local(8)'s own part for `address`, which the queue manager hands to
  // the local service `transport`: its aliases, :include: lists, commands,
  // files and mailbox. The local delivery helper computes this itself
  // instead of believing what the daemon asks for.
  std::vector<Delivery> LocalDeliveries(std::string_view address, std::string_view transport) const;

  // smtpd's reject_unlisted_recipient / reject_unlisted_sender: the reject
  // for an address unknown in its address class, or nullopt when it is known
  // (or its class has no list of users); "451 4.3.0 <address>: Temporary
  // lookup failure" when a table fails to answer.
  std::optional<Delivery> CheckListed(std::string_view address, bool sender) const;

  // permit_auth_destination: the recipient's domain is local, virtual or a
  // relay domain, and the address is not source-routed.
  bool IsAuthDestination(std::string_view recipient) const;

  // Whether the domain of `address` (canonicalized) is one Postfix is the
  // final destination for: local, a virtual alias domain or a virtual
  // mailbox domain (RESOLVE_CLASS_FINAL), which reject_unknown_*_domain
  // never ask the DNS about.
  bool IsFinalDestination(std::string_view address) const;

  // Whether `domain` is local: $mydestination, or an address literal of
  // $inet_interfaces / $proxy_interfaces.
  bool IsLocalDomain(std::string_view domain) const;

  const RoutingConfig& config() const { return config_; }
  const image::Image& image() const { return *image_; }

 private:
  class Run;
  Resolution ResolveAddress(std::string_view recipient, const ResolveOptions& options) const;
  std::string UndoLocalRouting(std::string address) const;
  // `address` as trivial-rewrite leaves it (qualified, local routing undone).
  std::string CanonicalAddress(std::string_view address) const;
  // Local, a virtual alias domain or a virtual mailbox domain.
  bool IsFinalDomain(std::string_view domain) const;
  std::shared_ptr<const image::Image> image_;
  RoutingConfig config_;
};

}  // namespace postern::resolve
