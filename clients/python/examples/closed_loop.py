"""Close loops through a running server (deno task serve): draw evaluation episodes, plan each replan over
HTTP, run the plan's first actions on the server's simulator, repeat; print the success rate.

    python examples/closed_loop.py [TASK] [EPISODES] [URL]      # defaults: wall 10 http://127.0.0.1:8000
"""
import sys

from edgewm import Client, closed_loop

task = sys.argv[1] if len(sys.argv) > 1 else "wall"
episodes = int(sys.argv[2]) if len(sys.argv) > 2 else 10
client = Client(sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:8000")
hits = 0
for index in range(episodes):
    episode = client.episode(task, seed=0, index=index)
    result = closed_loop(client, episode, budget=50)
    hits += result["success"]
    print(f"episode {index}: success {result['success']} after {result['replans']} replans, "
          f"final distance {result['final_distance']:.2f}")
print(f"{task}: {hits} of {episodes} episodes reached their goal ({hits / episodes:.2f})")
