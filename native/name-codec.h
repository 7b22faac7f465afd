// File names between the kernel (bytes) and JavaScript (UTF-16 strings), losslessly.
//
// A Linux name is any bytes but '/' and NUL; a JS string is UTF-16. Bytes that are valid UTF-8
// decode to their characters; every other byte b decodes to the lone surrogate U+DC00+b
// (U+DC80..U+DCFF, Python's "surrogateescape"), so a name with invalid UTF-8 (a container may
// hold any) reaches JS and comes back as the same bytes. A lone surrogate can never be produced
// by valid UTF-8, so the mapping is one-to-one; strings no decoding produces (other lone
// surrogates, or escapes of bytes that together form valid UTF-8) are refused with EINVAL
// rather than guessed at, so two different strings never name the same file.
#ifndef DBOX_NAME_CODEC_H
#define DBOX_NAME_CODEC_H
#include <stddef.h>
#include <stdint.h>

// Decodes len bytes into out (room for out_cap units; len units always suffice). Returns the
// number of UTF-16 units written.
size_t name_decode(const char *bytes, size_t len, uint16_t *out, size_t out_cap);

// Encodes len units into out (room for out_cap bytes, including a final NUL). Returns the
// number of bytes before the NUL, or -1 with errno EINVAL (a string no decoding produces, or
// a NUL inside it) or ENAMETOOLONG (out is too small).
long name_encode(const uint16_t *units, size_t len, char *out, size_t out_cap);

#endif
