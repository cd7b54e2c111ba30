<?php
/**
 * A Plesk panel as far as the extension sees it, for PHP's built-in web server (php -S HOST:PORT router.php):
 * - /modules/outgoing-mail-limits/index.php/<controller>/<action> runs the real plib controllers on the pm_
 *   stand-ins; screens are wrapped in page chrome like Plesk's (the forgery_protection_token meta tag,
 *   RequireJS with the 'plesk-ui-library' module, ui-library's stylesheet); the API's JSON is sent as it is;
 * - like Plesk, every write to the panel needs Plesk's own token (X-Forgery-Protection-Token) and
 *   X-Requested-With, else 403 before the extension runs;
 * - /modules/outgoing-mail-limits/<file> serves the extension's htdocs (dist/main.js);
 * - /login-as?login=NAME signs a stand-in user in (the test chooses who looks), in a PHP session; with
 *   &ui=render-only that session's pages get the 'plesk-ui-library' module of a Plesk from before about October
 *   2025 (ReactDOM's legacy render, no createRoot).
 * Environment: OML_DATA_DIR (the bridge daemon's data directory), OML_UI_LIBRARY and OML_UI_LIBRARY_RENDER_ONLY
 * (the built plesk-ui-library.js of either shape).
 */
require __DIR__ . '/world.php';

$repo = dirname(__DIR__, 3);
$module = '/modules/outgoing-mail-limits/';
$path = rawurldecode((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));

ini_set('session.save_path', sys_get_temp_dir());
session_name('PLESKSESSID');
session_start();
if (empty($_SESSION['plesk_forgery_token'])) {
    $_SESSION['plesk_forgery_token'] = bin2hex(random_bytes(16));
}

function send_file($file, $type)
{
    if (!is_file($file)) {
        http_response_code(404);
        echo "No file {$file}\n";
        return;
    }
    header('Content-Type: ' . $type);
    readfile($file);
}

function page_chrome($title, $body)
{
    $token = htmlspecialchars($_SESSION['plesk_forgery_token'], ENT_QUOTES);
    $login = htmlspecialchars(pm_Session::getClient()->getLogin(), ENT_QUOTES);
    return <<<HTML
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="forgery_protection_token" id="forgery_protection_token" content="{$token}">
<title>{$title} - Plesk</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui-library/plesk-ui-library.css">
<style>
body { margin: 0; font-family: 'Open Sans', Arial, sans-serif; }
.page-header { display: flex; justify-content: space-between; background: #28333e; color: #fff; padding: 10px 24px; }
.page-content { padding: 8px 24px 24px; }
</style>
<script src="/vendor/require.js"></script>
<script>require.config({ paths: { 'plesk-ui-library': '/vendor/plesk-ui-library' } });</script>
</head>
<body>
<header class="page-header"><span>Plesk Obsidian</span> <span>{$login}</span></header>
<main class="page-content"><h1>{$title}</h1>
{$body}
</main>
</body>
</html>
HTML;
}

function content_type($file)
{
    $types = ['js' => 'application/javascript', 'css' => 'text/css', 'png' => 'image/png', 'svg' => 'image/svg+xml', 'woff' => 'font/woff', 'woff2' => 'font/woff2'];
    $extension = strtolower(pathinfo($file, PATHINFO_EXTENSION));
    return isset($types[$extension]) ? $types[$extension] : 'application/octet-stream';
}

if ($path === '/favicon.ico') {
    http_response_code(204);
    return true;
}
if ($path === '/login-as') {
    $login = isset($_GET['login']) ? (string) $_GET['login'] : '';
    foreach (pm_Client::$all as $client) {
        if ($client->getLogin() === $login) {
            session_regenerate_id(true);
            $renderOnly = isset($_GET['ui']) && $_GET['ui'] === 'render-only';
            // The person's interface language, as Plesk keeps it (pm_Locale::getCode()).
            $locale = isset($_GET['locale']) && preg_match('/^[a-z]{2}-[A-Z]{2}$/', (string) $_GET['locale']) ? (string) $_GET['locale'] : 'en-US';
            $_SESSION = ['login' => $login, 'plesk_forgery_token' => bin2hex(random_bytes(16)), 'ui_render_only' => $renderOnly, 'locale' => $locale];
            header('Content-Type: text/plain');
            echo "Signed in as {$login}\n";
            return true;
        }
    }
    http_response_code(404);
    echo "No user {$login}\n";
    return true;
}
if ($path === '/vendor/require.js') {
    send_file("{$repo}/node_modules/requirejs/require.js", 'application/javascript');
    return true;
}
if ($path === '/vendor/plesk-ui-library.js') {
    send_file((string) getenv(empty($_SESSION['ui_render_only']) ? 'OML_UI_LIBRARY' : 'OML_UI_LIBRARY_RENDER_ONLY'), 'application/javascript');
    return true;
}
if (strpos($path, '/ui-library/') === 0 && strpos($path, '..') === false) {
    $file = "{$repo}/node_modules/@plesk/ui-library/dist/" . substr($path, strlen('/ui-library/'));
    send_file($file, content_type($file));
    return true;
}
if (strpos($path, $module) !== 0 || strpos($path, '..') !== false) {
    http_response_code(404);
    echo "Not found\n";
    return true;
}

$below = substr($path, strlen($module));
if ($below !== 'index.php' && strpos($below, 'index.php/') !== 0) {
    $file = "{$repo}/htdocs/{$below}";
    send_file($file, content_type($file));
    return true;
}

// The panel itself: nobody signed in, no page.
if (empty($_SESSION['login'])) {
    http_response_code(401);
    echo "Not signed in to the panel\n";
    return true;
}
pm_Locale::$code = isset($_SESSION['locale']) ? $_SESSION['locale'] : 'en-US';
foreach (pm_Client::$all as $client) {
    if ($client->getLogin() === $_SESSION['login']) {
        pm_Session::$client = $client;
    }
}
pm_Context::init('outgoing-mail-limits');

$method = $_SERVER['REQUEST_METHOD'];
$headers = function_exists('getallheaders') ? getallheaders() : [];
$header = function ($name) use ($headers) {
    foreach ($headers as $key => $value) {
        if (strcasecmp($key, $name) === 0) {
            return (string) $value;
        }
    }
    return '';
};
if ($method !== 'GET' && ($header('X-Requested-With') !== 'XMLHttpRequest' || !hash_equals($_SESSION['plesk_forgery_token'], $header('X-Forgery-Protection-Token')))) {
    http_response_code(403);
    header('Content-Type: text/plain');
    echo "Plesk: the forgery protection token is missing or wrong\n";
    return true;
}

// index.php/<controller>/<action>/...: Zend's default route (no controller: index/index).
$segments = array_values(array_filter(explode('/', substr($below, strlen('index.php'))), 'strlen'));
$controllerName = isset($segments[0]) ? $segments[0] : 'index';
$action = isset($segments[1]) ? $segments[1] : 'index';
$class = ucfirst($controllerName) . 'Controller';
if (!preg_match('/^[a-z]+$/', $controllerName) || !is_file("{$repo}/plib/controllers/{$class}.php")) {
    http_response_code(404);
    echo "No controller {$controllerName}\n";
    return true;
}
$rawPath = (string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
// The API forwards the path as the browser wrote it (still encoded): Zend's getPathInfo() is not decoded either.
$pathInfo = substr($rawPath, strpos($rawPath, 'index.php') + strlen('index.php')) ?: '/';
$request = new Zend_Controller_Request_Http($method, $pathInfo, $_GET + $_POST, $headers, (string) file_get_contents('php://input'), (string) (isset($_SERVER['QUERY_STRING']) ? $_SERVER['QUERY_STRING'] : ''));
$response = new Zend_Controller_Response_Http();
$controller = new $class($request, $response);
try {
    $controller->dispatch($action);
} catch (pm_Exception $error) {
    // Plesk shows the message in its page, with the status the action set (else a server error).
    http_response_code($response->status >= 400 ? $response->status : 500);
    header('Content-Type: text/html; charset=utf-8');
    echo page_chrome('Error', '<div class="msg-box msg-error" role="alert">Error: ' . htmlspecialchars($error->getMessage(), ENT_QUOTES) . '</div>');
    return true;
}
http_response_code($response->status);
if ($controller->helpers()->layout()->enabled) {
    header('Content-Type: text/html; charset=utf-8');
    echo page_chrome(htmlspecialchars(isset($controller->view->pageTitle) ? $controller->view->pageTitle : 'Plesk', ENT_QUOTES), $response->body);
} else {
    foreach ($response->headers as $name => $value) {
        header("{$name}: {$value}");
    }
    echo $response->body;
}
return true;
