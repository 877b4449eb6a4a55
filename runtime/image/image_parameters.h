// image_parameters.h: typed reads of an image's parameters for the runtime
// (the compiler has already checked every value, so a bad one can only come
// from a damaged or hand-made image; the fallback is then used).
#pragma once

#include <cstdint>
#include <string_view>

#include "mail/network_list.h"
#include "runtime/image/image.h"

namespace postern::image {

bool BoolParameter(const Image& image, std::string_view name, bool fallback);
int64_t IntParameter(const Image& image, std::string_view name, int64_t fallback);
// Seconds; `default_unit` as postconf(5) gives it for the parameter.
int64_t TimeParameter(const Image& image, std::string_view name, char default_unit, int64_t fallback);
// An address match list (mynetworks, smtpd_authorized_xclient_hosts, ...):
// CIDR blocks, !negation, and tables of the image. The list keeps pointers
// into the image: it must not outlive it.
mail::NetworkList NetworkListParameter(const Image& image, std::string_view name);

}  // namespace postern::image
