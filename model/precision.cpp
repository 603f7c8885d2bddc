// Autocast switching for bf16 mixed precision; the loss turns it off again through the same guard.
#include "model/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <stdexcept>

#include "model/device.h"

namespace vatt::model {

Precision parse_precision(const std::string& text) {
  if (text == "auto") return Precision::kAuto;
  if (text == "fp32") return Precision::kFp32;
  if (text == "bf16") return Precision::kBf16;
  throw std::invalid_argument("unknown precision '" + text + "': expected auto, fp32 or bf16");
}

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kAuto:
      break;
  }
  return "auto";
}

bool use_bf16(Precision p, const std::string& device) {
  if (p != Precision::kAuto) return p == Precision::kBf16;
  if (device.rfind("cuda", 0) == 0) return true;
  // select_device would also reset the thread count; only the CPU flag is wanted here.
  return cpu_supports_bf16();
}

AutocastGuard::AutocastGuard(const std::string& device, bool enabled)
    : device_type_(static_cast<int>(torch::Device(device).type())), enabled_(enabled) {
  const auto type = static_cast<c10::DeviceType>(device_type_);
  prev_enabled_ = at::autocast::is_autocast_enabled(type);
  prev_dtype_ = static_cast<int>(at::autocast::get_autocast_dtype(type));
  if (enabled_) {
    at::autocast::set_autocast_dtype(type, torch::kBFloat16);
    at::autocast::increment_nesting();
  }
  at::autocast::set_autocast_enabled(type, enabled_);
}

AutocastGuard::~AutocastGuard() {
  const auto type = static_cast<c10::DeviceType>(device_type_);
  at::autocast::set_autocast_enabled(type, prev_enabled_);
  at::autocast::set_autocast_dtype(type, static_cast<c10::ScalarType>(prev_dtype_));
  if (enabled_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace vatt::model
