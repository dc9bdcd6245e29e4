"""Dataset readers: paired test sets, SIDD, DND, clean-only folders and training patches."""

from pngan.data.clean import clean_images
from pngan.data.dnd import dnd_boxes, iter_dnd_crops, load_dnd_image, write_dnd_submission
from pngan.data.matfile import is_mat73
from pngan.data.pairs import LAYOUTS, Pair, check_pair_sizes, find_layout, find_pairs, pair_files
from pngan.data.patches import PatchDataset, collate_patches, dihedral
from pngan.data.sidd import BLOCK_KEYS, load_sidd_blocks, sidd_block_pairs, sidd_medium_pairs

__all__ = [
    "BLOCK_KEYS", "LAYOUTS", "Pair", "PatchDataset", "check_pair_sizes", "clean_images",
    "collate_patches", "dihedral", "dnd_boxes", "find_layout", "find_pairs", "is_mat73",
    "iter_dnd_crops", "load_dnd_image", "load_sidd_blocks", "pair_files", "sidd_block_pairs",
    "sidd_medium_pairs", "write_dnd_submission",
]
