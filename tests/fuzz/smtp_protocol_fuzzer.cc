// Fuzzes the SMTP protocol layer: command lines and DATA content from
// arbitrary bytes, in arbitrary chunks. Checks that the data decoder ends a
// message exactly when the bytes it consumed end in <CR><LF>.<CR><LF>, and
// that chunking never changes what is decoded.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/smtp/command_parser.h"
#include "runtime/smtp/data_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern::smtp;
  if (size < 1) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t chunk = 1 + data[0] % 16;
  BareNewline mode = (data[0] & 0x80) != 0 ? BareNewline::kReject : BareNewline::kNormalize;

  LineReader reader(mode, 64);
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    reader.Feed(bytes.substr(i, chunk));
    while (auto line = reader.Next()) (void)ParseCommand(line->text);
  }

  DataOptions options;
  options.bare_newline = mode;
  options.line_length_limit = 32;
  DataDecoder decoder(options);
  std::string content;
  size_t used = 0;
  for (size_t i = 0; i < bytes.size() && decoder.state() == DataDecoder::State::kContent; i += chunk) {
    used += decoder.Feed(bytes.substr(i, std::min(chunk, bytes.size() - i)), &content);
  }
  // The same bytes at once decode the same: chunking never changes a message.
  DataDecoder whole(options);
  std::string whole_content;
  size_t whole_used = whole.Feed(bytes, &whole_content);
  if (whole.state() != decoder.state() || whole_content != content || whole_used != used) abort();
  if (decoder.state() == DataDecoder::State::kDone) {
    std::string_view consumed = bytes.substr(0, used);
    bool ends_right =
        consumed == ".\r\n" || (consumed.size() >= 5 && consumed.substr(consumed.size() - 5) == "\r\n.\r\n");
    if (!ends_right) abort();  // a message ended on something else: smuggling
  }
  return 0;
}
