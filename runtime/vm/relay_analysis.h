// relay_analysis.h: the open-relay proof. Explores every path of the rcpt
// stage of a policy program for the worst client: outside $mynetworks, not
// authenticated, sending to a recipient outside the local, virtual and
// relay domains, with a HELO name, sender address and client name of its
// choosing. Table lookups may return any value their table holds (the
// tables are in the image, so their values are known exactly); a client
// table entry whose network lies inside $mynetworks cannot match such a
// client. If some path accepts, the policy is an open relay for that
// client, and the path names the rules that let it through.
//
// Sound for the restrictions Postern implements: a predicate it cannot
// decide for this client is taken both ways.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/image/image.h"

namespace postern::vm {

struct RelayFinding {
  bool open = false;
  // For an open relay: one accepting path, a step per list.
  std::vector<std::string> path;
  // The list and instruction that let the mail through where it should have
  // been refused (for diagnostics).
  std::string list;
  std::string rule;
};

RelayFinding AnalyzeRelay(std::shared_ptr<const image::Image> image);

}  // namespace postern::vm
