// image_parameters.h: typed reads of an image's parameters for the runtime,
// from settings.bin (booleans, integers, seconds) and the lists built on its
// text values: the compiler checked and typed every value, so nothing here
// parses a scalar or knows a default.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/domain_list.h"
#include "mail/network_list.h"
#include "runtime/image/image.h"

namespace postern::image {

// Typed values the compiler wrote into settings.bin (mail/settings_format.h):
// no parsing and no fallback here; the registry holds the defaults, and
// tests/compiler/config/parameter_support_test.cc keeps every name the
// runtime reads in it, with the type it is read as.
bool BoolParameter(const Image& image, std::string_view name);
int64_t IntParameter(const Image& image, std::string_view name);
// Seconds: the parameter's own unit is applied by the compiler.
int64_t TimeParameter(const Image& image, std::string_view name);
// An address match list (mynetworks, smtpd_authorized_xclient_hosts, ...):
// CIDR blocks, !negation, and tables of the image. The list keeps pointers
// into the image: it must not outlive it.
mail::NetworkList NetworkListParameter(const Image& image, std::string_view name);
// A per-service setting's name in settings.bin: the service's -o override
// ("<service>/<name>") when it has one, else main.cf's `name`.
std::string ServiceSettingName(const Image& image, std::string_view service, const std::string& name);
// The master.cf transport (a unix or fifo service) named `name`, or null.
const mail::ServiceEntry* TransportService(const Image& image, std::string_view name);
// A match list (mydestination, smtpd_forbidden_commands, ...): names,
// !negation, and tables of the image, matched as a domain list (with
// parent-domain matching when `parent_style`). Elements naming a table the
// image lacks are left out and, when `missing` is given, listed there. The
// list keeps pointers into the image: it must not outlive it.
// `bind` may replace a table by another (the resolver's users table).
mail::DomainList MatchListParameter(
    const Image& image, std::string_view name, std::vector<std::string>* missing, bool parent_style = false,
    const std::function<const mail::LookupTable*(const mail::LookupTable*)>& bind = nullptr);

// Whether a list element is a type:name table reference.
bool IsTableReference(std::string_view item);

}  // namespace postern::image
