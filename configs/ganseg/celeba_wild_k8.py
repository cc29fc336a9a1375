# GANSeg stage 1 on CelebA in the wild, K = 8 (He et al. 2022 Table 1: 6.18 % landmark error).
# Official hyper-parameters (log/gan_celeba_wild_k8 of the official code): 4 blocks, batch 64,
# lambda_con 10 = C_con 1.25 x K (Table 4, Eq. 26), lambda_area 1, 30k iterations.
#   python tools/train.py configs/ganseg/celeba_wild_k8.py
# then stage 2 (segmenter on generated pairs, evaluated on MAFL):
#   configs/ganseg/celeba_wild_k8_stage2.py
_base_ = [
    '../_base_/models/ganseg_4block.py', '../_base_/datasets/celeba_wild.py',
    '../_base_/default_runtime.py'
]

num_parts = 8
model = dict(num_parts=num_parts)
train_dataloader = dict(batch_size=64)

# Stage 1 has no evaluation of its own: real images are scored through the stage-2 segmenter.
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
