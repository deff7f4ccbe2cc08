// Signed checkpoints arrive from other nodes and witnesses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audit/signed_note.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto verifier = kavach::audit::NoteVerifier::parse(
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto opened = verifier->open(text)) (void)kavach::audit::parse_checkpoint(*opened);
  (void)kavach::audit::parse_checkpoint(text);
  (void)kavach::audit::NoteVerifier::parse(text);
  return 0;
}
