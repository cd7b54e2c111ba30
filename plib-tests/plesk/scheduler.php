<?php
/**
 * Stand-in for Plesk's scheduled tasks of an extension (pm_Scheduler, pm_Scheduler_Task as plesk/pm-api-stubs
 * declare them). Tasks are kept as [cmd, schedule]; in the install tests they are kept in the shared state file
 * (pm_ApiRpc::$stateFile, key scheduledTasks) so that uninstall sees what install scheduled.
 */
class pm_Scheduler_Task
{
    private $cmd = '';
    private $schedule = [];

    public function getCmd()
    {
        return $this->cmd;
    }

    public function setCmd($cmd)
    {
        $this->cmd = (string) $cmd;
    }

    public function getSchedule()
    {
        return $this->schedule;
    }

    public function setSchedule($schedule)
    {
        $this->schedule = $schedule;
    }
}

class pm_Scheduler
{
    public static $EVERY_HOUR = ['0', '*', '*', '*', '*'];
    public static $EVERY_DAY = ['0', '0', '*', '*', '*'];
    /** @var array<int, array{cmd: string, schedule: array}> */
    public static $tasks = [];

    public static function getInstance()
    {
        return new self();
    }

    /** @return pm_Scheduler_Task[] */
    public function listTasks()
    {
        self::load();
        return array_map(function ($kept) {
            $task = new pm_Scheduler_Task();
            $task->setCmd($kept['cmd']);
            $task->setSchedule($kept['schedule']);
            return $task;
        }, self::$tasks);
    }

    public function putTask(pm_Scheduler_Task $task)
    {
        self::load();
        self::$tasks[] = ['cmd' => $task->getCmd(), 'schedule' => $task->getSchedule()];
        self::save();
    }

    public function removeTask(pm_Scheduler_Task $task)
    {
        self::load();
        self::$tasks = array_values(array_filter(self::$tasks, function ($kept) use ($task) {
            return $kept['cmd'] !== $task->getCmd();
        }));
        self::save();
    }

    private static function load()
    {
        if (pm_ApiRpc::$stateFile !== null) {
            $state = json_decode((string) file_get_contents(pm_ApiRpc::$stateFile), true);
            self::$tasks = isset($state['scheduledTasks']) ? $state['scheduledTasks'] : [];
        }
    }

    private static function save()
    {
        if (pm_ApiRpc::$stateFile !== null) {
            $state = json_decode((string) file_get_contents(pm_ApiRpc::$stateFile), true);
            $state['scheduledTasks'] = self::$tasks;
            file_put_contents(pm_ApiRpc::$stateFile, json_encode($state, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES));
        }
    }
}
