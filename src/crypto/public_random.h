// Random bytes that are not secret: the nonces sealed values carry beside their ciphertext and the
// ids of new records, which appear in every URL. They come from the kernel's generator as keys
// do, but through a pool per thread refilled 4 KiB at a time, so a value costs a copy rather than
// a getrandom system call (one per new record and one per seal was about 3% of a transaction
// ingest, system calls being dear on virtual machines).
//
// Never for secrets: keys, tokens and session ids come from SecretBytes::random, straight from
// the kernel into locked memory. The pool's bytes sit in ordinary memory until handed out, which
// is harmless only because what they become is public. Each byte is handed out once; a child
// process forked from this one starts with an empty pool, so parent and child never share a
// nonce. Thread-safety: safe; each thread draws from its own pool.
#pragma once

#include <cstdint>
#include <span>

namespace kavach::crypto {

void fill_public_random(std::span<std::uint8_t> out);

}  // namespace kavach::crypto
