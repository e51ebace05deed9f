"""Close a loop on the wall task through a running server (deno task serve): draw evaluation episodes,
plan each replan over HTTP, run the plan's first actions on the server's simulator, repeat."""
import sys

from edgewm import Client, closed_loop

client = Client(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
hits = 0
for index in range(10):
    episode = client.episode("wall", seed=0, index=index)
    result = closed_loop(client, episode, budget=50)
    hits += result["success"]
    print(f"episode {index}: success {result['success']} after {result['replans']} replans, "
          f"final distance {result['final_distance']:.2f}")
print(f"wall: {hits} of 10 episodes reached their goal")
