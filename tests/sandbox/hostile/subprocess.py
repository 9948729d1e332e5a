# expect: forbidden
# subprocess
import subprocess
def solution():
    return subprocess.run(['id'])
