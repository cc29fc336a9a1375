# GANSeg stage 1 on CelebA in the wild, K = 4 (He et al. 2022 Table 1: 12.26 %): as
# celeba_wild_k8.py with lambda_con = C_con x K = 1.25 x 4 = 5 (Eq. 26).
_base_ = ['./celeba_wild_k8.py']

num_parts = 4
model = dict(num_parts=num_parts)
