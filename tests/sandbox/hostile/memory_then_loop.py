# expect: timeout
# catching MemoryError and spinning
def solution():
    try:
        'a' * 10 ** 10
    except MemoryError:
        while True:
            pass
