# GANSeg stage 2 (He et al. 2022 Sec. 3, appendix B.4): a DeepLabV3-R50 segmenter (ImageNet
# backbone) trained with Adam 3e-4, batch 64, 10k iterations on image / part-mask pairs sampled
# from the frozen stage-1 generator, then scored on real images by the dataset's metrics.
#
# A stage-2 config combines this file with a dataset base (for its test loader and metrics) and
# states K, the stage-1 config and the stage-1 checkpoint; the dataset base's train_dataloader is
# replaced by the generated pairs (pairs_dataloader carries _delete_=True for that):
#   _base_ = ['../_base_/ganseg_stage2.py', '../_base_/datasets/cub_ganseg.py']
#   num_parts = 8
#   stage1_config = '{{ fileDirname }}/cub_k8.py'
#   stage1_checkpoint = 'work_dirs/cub_k8/iter_30000.pth'
#   model = dict(decode_head=dict(num_classes=num_parts + 1))
#   train_dataloader = dict(
#       _base_.pairs_dataloader,
#       dataset=dict(
#           _base_.pairs_dataloader.dataset,
#           num_parts=num_parts,
#           checkpoint=stage1_checkpoint,
#           stage1_config=stage1_config))
#   val_dataloader = None  # the dataset base's; no validation while training (as the official)
#   val_evaluator = None
_base_ = ['./models/ganseg_segmenter.py', './schedules/iter_10k_adam.py', './default_runtime.py']

model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')))

# The official train_seg.py: 10 epochs of 64,000 fresh pairs (batch 64, 10,000 iterations), the
# generator in eval mode. Pairs are generated per loader batch in the main process, on the GPU when
# there is one ('auto'): no worker processes (CUDA cannot run in them), nothing stored.
pairs_dataloader = dict(
    _delete_=True,
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='GeneratedPairsDataset',
        checkpoint=None,  # the stage-1 checkpoint: set by each stage-2 config
        # the stage-1 config file whose model.generator is built (set by each stage-2 config);
        # the config text stored in a checkpoint is code and is never read
        stage1_config=None,
        num_samples=64000,
        resample='epoch',
        num_epochs=10,
        batch_size=64,
        device='auto',
        pipeline=[dict(type='LoadPartImage'),
                  dict(type='PackPartInputs')]))

# No validation while training (the official code has none); tools/test.py scores test_dataloader.
val_cfg = None
