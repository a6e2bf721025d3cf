// FSSL_FMA_CLONES: compile a float32 noise function twice, for FMA hardware and for plain x86-64,
// and pick at load time. std::fma is exact either way; on FMA hardware it is one instruction instead
// of a libm call, which is most of the cost of the libdevice-exact noise rows.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FSSL_FMA_CLONES __attribute__((target_clones("fma", "default")))
#else
#define FSSL_FMA_CLONES
#endif
