// warm-up + cosine learning rate (both shapes) and the Adam settings.
#include <gtest/gtest.h>

#include <cmath>

#include "model/optimiser.h"
#include "model/schedule.h"

namespace vatt::model {
namespace {

TEST(Schedule, PaperScheduleAtKeySteps) {
  OptimConfig o;  // 1e-4 peak, 5e-5 end, 500k steps
  o.schedule = LrSchedule::kPaper;
  o.warmup_steps = 10000;  // the paper's warm-up
  EXPECT_DOUBLE_EQ(lr_at(o, 0), 0.0);
  EXPECT_DOUBLE_EQ(lr_at(o, 5000), 5e-5);   // half-way up the linear ramp
  EXPECT_DOUBLE_EQ(lr_at(o, 10000), 1e-4);  // end of warm-up: the peak
  // Middle of the cosine: (s - w) / (T - w) = 1/2, cos(pi/4) = sqrt(2)/2.
  EXPECT_NEAR(lr_at(o, 255000), 5e-5 + 5e-5 * std::sqrt(2.0) / 2, 1e-15);
  EXPECT_NEAR(lr_at(o, 500000), 5e-5, 1e-15);     // last step: the end rate
  EXPECT_NEAR(lr_at(o, 600000), 5e-5, 1e-15);     // held afterwards
  EXPECT_LT(lr_at(o, 400000), lr_at(o, 300000));  // monotone decay
}

TEST(Schedule, ReleasedCodeScheduleIsTheDefaultAtKeySteps) {
  OptimConfig o;  // defaults: the released code's 5k warm-up and half-period cosine
  EXPECT_EQ(o.schedule, LrSchedule::kCode);
  EXPECT_EQ(o.warmup_steps, 5000);
  EXPECT_DOUBLE_EQ(lr_at(o, 2500), 5e-5);
  EXPECT_DOUBLE_EQ(lr_at(o, 5000), 1e-4);
  // Half-way through the decay: (1 + cos(pi/2)) / 2 = 1/2, the mean of peak and end (the paper's curve is
  // still at 5e-5 + 5e-5 sqrt(2)/2 = 8.5e-5 there).
  EXPECT_NEAR(lr_at(o, 252500), 7.5e-5, 1e-15);
  // A quarter in: (1 + cos(pi/4)) / 2.
  EXPECT_NEAR(lr_at(o, 128750), 5e-5 + 5e-5 * (1 + std::sqrt(2.0) / 2) / 2, 1e-15);
  EXPECT_NEAR(lr_at(o, 500000), 5e-5, 1e-15);
  EXPECT_NEAR(lr_at(o, 600000), 5e-5, 1e-15);
  // The half period is flat at both ends of the decay (zero slope), unlike the quarter period at its start.
  EXPECT_NEAR(lr_at(o, 5001), 1e-4, 1e-12);
  EXPECT_NEAR(lr_at(o, 499999), 5e-5, 1e-12);
  o.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(lr_at(o, 0), 1e-4);
}

TEST(Schedule, DescriptionNamesTheShapeAndItsPoints) {
  OptimConfig o;
  const auto code = describe_schedule(o);
  EXPECT_NE(code.find("half-period"), std::string::npos) << code;
  EXPECT_NE(code.find("5000 steps"), std::string::npos) << code;
  EXPECT_NE(code.find("7.5e-05"), std::string::npos) << code;  // the mid-point of the decay
  o.schedule = LrSchedule::kPaper;
  EXPECT_NE(describe_schedule(o).find("quarter-period"), std::string::npos);
}

TEST(Optimiser, AdamSettingsAndScheduleAreApplied) {
  auto trainable = torch::randn({3}, torch::requires_grad());
  auto frozen = torch::randn({2});
  OptimConfig o;
  auto adam = make_adam({trainable, frozen}, o);
  ASSERT_EQ(adam->param_groups().size(), 1u);
  const auto& group = adam->param_groups()[0];
  ASSERT_EQ(group.params().size(), 1u);  // the frozen tensor is left out
  EXPECT_TRUE(group.params()[0].is_same(trainable));
  const auto& opts = static_cast<const torch::optim::AdamOptions&>(group.options());
  EXPECT_DOUBLE_EQ(std::get<0>(opts.betas()), 0.9);
  EXPECT_DOUBLE_EQ(std::get<1>(opts.betas()), 0.999);
  EXPECT_DOUBLE_EQ(opts.eps(), 1e-7);
  EXPECT_DOUBLE_EQ(opts.weight_decay(), 0.0);
  EXPECT_DOUBLE_EQ(opts.lr(), 0.0);
  EXPECT_DOUBLE_EQ(apply_schedule(*adam, o, 5000), 1e-4);  // the end of the released code's warm-up
  EXPECT_DOUBLE_EQ(static_cast<const torch::optim::AdamOptions&>(adam->param_groups()[0].options()).lr(),
                   1e-4);
}

// The fused kernel makes the same update as torch::optim::Adam::step, state included, over several steps.
TEST(Optimiser, FusedAdamStepMatchesAdamStep) {
  torch::manual_seed(4);
  OptimConfig o;
  o.weight_decay = 0.01;
  std::vector<torch::Tensor> a{torch::randn({5, 3}).requires_grad_(), torch::randn({7}).requires_grad_()};
  std::vector<torch::Tensor> b{a[0].detach().clone().requires_grad_(),
                               a[1].detach().clone().requires_grad_()};
  auto ref = make_adam(a, o), fused = make_adam(b, o);
  for (int step = 0; step < 4; ++step) {
    auto g0 = torch::randn({5, 3}), g1 = torch::randn({7});
    a[0].mutable_grad() = g0.clone();
    b[0].mutable_grad() = g0.clone();
    if (step != 2) {  // an undefined gradient skips that parameter in both
      a[1].mutable_grad() = g1.clone();
      b[1].mutable_grad() = g1.clone();
    }
    apply_schedule(*ref, o, step + 5);
    apply_schedule(*fused, o, step + 5);
    ref->step();
    fused_adam_step(*fused);
    ref->zero_grad(true);
    fused->zero_grad(true);
    for (int i = 0; i < 2; ++i) EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-6, 1e-7)) << "step " << step;
  }
  for (int i = 0; i < 2; ++i) {
    auto& sa = static_cast<torch::optim::AdamParamState&>(*ref->state().at(a[i].unsafeGetTensorImpl()));
    auto& sb = static_cast<torch::optim::AdamParamState&>(*fused->state().at(b[i].unsafeGetTensorImpl()));
    EXPECT_EQ(sa.step(), sb.step());
    EXPECT_TRUE(torch::allclose(sa.exp_avg(), sb.exp_avg(), 1e-6, 1e-8));
    EXPECT_TRUE(torch::allclose(sa.exp_avg_sq(), sb.exp_avg_sq(), 1e-6, 1e-10));
  }
}

}  // namespace
}  // namespace vatt::model
