#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/spawn.h"

namespace berth {

// The spawn plan crosses from TypeScript to C++ (the addon, and the shim, which has no Node) as one
// flat buffer: magic "BPL1", then every field of SpawnPlan in a fixed order, strings as u32 length +
// bytes, numbers as little-endian f64, lists as u32 count + items. src/native/plan-codec.ts writes
// exactly this order; a mismatch fails loudly here with the field's name.
struct PlanFormatError {
  std::string field;
};

SpawnPlan decodePlan(const uint8_t* data, size_t len);

}  // namespace berth
