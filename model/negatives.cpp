// The hard-negative memory bank.
#include "model/negatives.h"

#include <limits>
#include <stdexcept>

namespace vatt::model {

NegativeBank::NegativeBank(int64_t capacity, int64_t dim, int64_t k, const torch::Device& device)
    : capacity_(capacity), k_(k) {
  if (capacity < 1 || k < 1 || k > capacity)
    throw std::invalid_argument("hard negatives: need 1 <= k (" + std::to_string(k) + ") <= memory (" +
                                std::to_string(capacity) + ")");
  bank_ = torch::zeros({capacity, dim}, torch::TensorOptions().device(device));
  sources_ = torch::full({capacity}, -1, torch::TensorOptions().dtype(torch::kLong).device(device));
}

NegativeBank::Hard NegativeBank::hardest(const torch::Tensor& anchors, const torch::Tensor& sources) const {
  torch::NoGradGuard no_grad;
  namespace F = torch::nn::functional;
  const auto b = anchors.size(0);
  auto a = F::normalize(anchors.detach().to(torch::kFloat), F::NormalizeFuncOptions().dim(-1));
  auto sims = a.matmul(bank_.t());  // [B, M]
  auto src = sources.to(sources_.device()).to(torch::kLong).view({b, 1});
  auto usable = sources_.view({1, capacity_}).ne(src);  // another video's text
  usable = usable.logical_and(torch::arange(capacity_, sources_.options()).lt(filled_).view({1, capacity_}));
  sims = sims.masked_fill(usable.logical_not(), -std::numeric_limits<float>::infinity());
  auto top = sims.topk(k_, 1);
  Hard h;
  auto idx = std::get<1>(top);
  h.negatives = bank_.index_select(0, idx.reshape({-1})).view({b, k_, bank_.size(1)});
  h.valid = std::get<0>(top).isfinite();
  return h;
}

void NegativeBank::add(const torch::Tensor& entries, const torch::Tensor& sources) {
  torch::NoGradGuard no_grad;
  namespace F = torch::nn::functional;
  auto e =
      F::normalize(entries.detach().to(torch::kFloat), F::NormalizeFuncOptions().dim(-1)).to(bank_.device());
  auto s = sources.detach().to(torch::kLong).to(sources_.device());
  int64_t n = e.size(0);
  if (n > capacity_) {  // only the newest `capacity` entries can stay
    e = e.slice(0, n - capacity_);
    s = s.slice(0, n - capacity_);
    n = capacity_;
  }
  auto at = (torch::arange(n, sources_.options()) + next_).remainder(capacity_);
  bank_.index_copy_(0, at, e);
  sources_.index_copy_(0, at, s);
  next_ = (next_ + n) % capacity_;
  filled_ = std::min(filled_ + n, capacity_);
}

void NegativeBank::save(torch::serialize::OutputArchive& out) const {
  out.write("bank", bank_);
  out.write("sources", sources_);
  out.write("cursor", torch::tensor({next_, filled_}, torch::kInt64));
}

void NegativeBank::load(torch::serialize::InputArchive& in, const std::string& origin) {
  torch::Tensor bank, sources, cursor;
  in.read("bank", bank);
  in.read("sources", sources);
  in.read("cursor", cursor);
  if (bank.sizes() != bank_.sizes() || sources.sizes() != sources_.sizes() || cursor.numel() != 2)
    throw std::runtime_error(origin + ": the saved negatives bank is " + c10::str(bank.sizes()) +
                             ", this run's " + c10::str(bank_.sizes()) +
                             " (train.negatives_memory and the head width must match)");
  torch::NoGradGuard no_grad;
  bank_.copy_(bank);
  sources_.copy_(sources);
  next_ = cursor[0].item<int64_t>();
  filled_ = cursor[1].item<int64_t>();
}

}  // namespace vatt::model
