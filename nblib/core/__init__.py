"""The network library a student studies: data, layers, loss, optimizers, schedules,
the training loop and the recipe (SpiralConfig, train_spirals).  Imports nothing
else of nblib.
"""
