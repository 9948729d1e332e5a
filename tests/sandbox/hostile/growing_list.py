# expect: memory
# memory taken a megabyte at a time
def solution():
    chunks = []
    while True:
        chunks.append('x' * 1000000)
