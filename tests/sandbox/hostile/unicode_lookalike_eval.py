# expect: forbidden
# mathematical bold letters normalise to eval
def solution():
    return 𝐞𝐯𝐚𝐥('1 + 1')
