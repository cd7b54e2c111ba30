<?php
// Loads the stand-ins and the extension's classes the way Plesk's autoloader finds them:
// Modules_OutgoingMailLimits_<Name> → plib/library/<Name>.php, hooks and controllers by file.
require __DIR__ . '/context.php';
require __DIR__ . '/apirpc.php';
require __DIR__ . '/scheduler.php';
require __DIR__ . '/hooks.php';
require __DIR__ . '/repair.php';
require __DIR__ . '/controller.php';
require __DIR__ . '/sdk-csrf.php';

spl_autoload_register(function ($class) {
    $plib = rtrim(pm_Context::getPlibDir(), '/');
    $prefix = 'Modules_OutgoingMailLimits_';
    if (strpos($class, $prefix) === 0) {
        $name = substr($class, strlen($prefix));
        foreach (["{$plib}/library/" . str_replace('_', '/', $name) . '.php', "{$plib}/hooks/{$name}.php"] as $file) {
            if (is_file($file)) {
                require $file;
                return;
            }
        }
    } elseif (preg_match('/^[A-Z][A-Za-z]*Controller$/', $class) && is_file("{$plib}/controllers/{$class}.php")) {
        require "{$plib}/controllers/{$class}.php";
    }
});
