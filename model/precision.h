// Mixed precision: which compute dtype a run uses (fp32, or bf16 autocast with fp32 master weights) and the
// RAII guard that switches LibTorch's autocast on for a forward pass. No LibTorch types in this header.
#pragma once

#include <string>

namespace vatt::model {

/// Requested compute precision. `kAuto` means bf16 where the device computes it fast (CUDA, or a CPU with
/// AVX512-BF16/AMX, see DeviceInfo::bf16_supported) and fp32 elsewhere.
enum class Precision { kAuto, kFp32, kBf16 };

/// "auto", "fp32" or "bf16" -> Precision. Throws std::invalid_argument naming the value otherwise.
Precision parse_precision(const std::string& text);
/// "auto", "fp32" or "bf16".
std::string precision_name(Precision p);

/// Resolves `kAuto` for `device` ("cpu", "cuda:N"): true = run under bf16 autocast. `kBf16` is honoured even
/// where bf16 is slow (it is then only emulated, which is still correct).
bool use_bf16(Precision p, const std::string& device);

/// Enables LibTorch autocast to bf16 on `device`'s type for its lifetime (e.g. around the forward pass) and
/// restores the previous state on destruction. Parameters stay fp32 (the master weights): autocast casts them
/// per op, matmuls/convolutions/attention run in bf16, and the ops autocast lists as fp32 (norms, softmax,
/// losses) stay fp32. The outermost guard clears autocast's cast cache when it ends, so the bf16 copies of
/// the weights never outlive the step that made them (they would be stale after the optimiser step).
/// With `enabled` false the guard switches autocast *off* inside its scope (for the loss, which must be fp32)
/// and restores it afterwards. Not copyable; use on one thread (autocast state is thread-local).
class AutocastGuard {
 public:
  AutocastGuard(const std::string& device, bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  int device_type_;  // c10::DeviceType, kept as int so that this header needs no LibTorch
  bool enabled_;
  bool prev_enabled_;
  int prev_dtype_;  // c10::ScalarType
};

}  // namespace vatt::model
