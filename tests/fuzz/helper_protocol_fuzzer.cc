// helper_protocol_fuzzer.cc: the root helper decodes frames from a process
// it does not trust; no input may crash a decoder, and whatever decodes
// encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/local/helper_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern::local;
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  if (auto request = DecodeHelperRequest(frame)) {
    std::string again;
    switch (request->kind) {
      case HelperRequestKind::kDeliver:
        again = EncodeDeliverRequest(request->deliver);
        break;
      case HelperRequestKind::kPipe:
        again = EncodePipeRequest(request->pipe);
        break;
      case HelperRequestKind::kTlsFiles:
        again = EncodeTlsFilesRequest(request->image_id, request->service);
        break;
    }
    if (again != frame) std::abort();
  }
  if (auto answer = DecodeDeliverAnswer(frame)) {
    if (EncodeDeliverAnswer(*answer) != frame) std::abort();
  }
  (void)DecodeTlsFilesAnswer(frame);
  return 0;
}
