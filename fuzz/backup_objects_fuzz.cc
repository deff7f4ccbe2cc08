// Backup objects come back from a backup server on another machine. Only objects that pass
// authentication under the backup key reach these decoders, but a decoder must still never read
// past its input or allocate what the input cannot hold. The first byte picks the decoder; a
// decoded object must encode back to the same bytes (one encoding per content).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "backup/snapshot_format.h"

namespace {

template <typename Decode, typename Encode>
void round_trip(std::span<const std::uint8_t> input, Decode decode, Encode encode) {
  auto decoded = decode(input);
  if (!decoded) return;
  const auto encoded = encode(*decoded);
  if (!std::equal(encoded.begin(), encoded.end(), input.begin(), input.end())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kavach::backup;
  if (size == 0) return 0;
  const std::span<const std::uint8_t> input(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0: round_trip(input, decode_records, encode_records); break;
    case 1: round_trip(input, decode_keys, encode_keys); break;
    case 2: round_trip(input, decode_audit_entries, encode_audit_entries); break;
    case 3: round_trip(input, decode_tiles, encode_tiles); break;
    case 4: round_trip(input, decode_checkpoints, encode_checkpoints); break;
    default: (void)decode_manifest(input); break;
  }
  return 0;
}
