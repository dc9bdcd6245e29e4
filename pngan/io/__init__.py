"""Reading and writing: images (8/16-bit, alpha, grayscale), atomic files and folders, output folders."""
