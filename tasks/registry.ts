/** Task lookup by name. */
import { type Task, TASK_NAMES, TaskError, type TaskName } from "./task.ts";
import { wall } from "./wall.ts";
import { pointmaze } from "./pointmaze.ts";
import { pusht } from "./pusht.ts";
import { reacher } from "./reacher.ts";

const TASKS: Record<TaskName, Task> = { wall, pointmaze, pusht, reacher };

/** The task called `name`; an unknown name throws a `TaskError` listing the known ones. */
export function getTask(name: string): Task {
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new TaskError(`unknown task "${name}"; known tasks: ${TASK_NAMES.join(", ")}`);
  }
  return TASKS[name as TaskName];
}
