"""Argon2id at eventrail's cost (time 2, memory 19 MiB, 1 lane): a cache miss costs
the same here as there. Django's own Argon2 hasher uses 100 MiB and 8 lanes."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idLikeEventrail(Argon2PasswordHasher):
    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19456
    parallelism = 1
