<?php
/**
 * Every JSON call of the screens. The screens call /modules/outgoing-mail-limits/index.php/api/call?path=<path
 * below /api/v1 with its query, URL-encoded> (their apiBase ends in "path=", see frontend/README.md); the same
 * call also works written out, /index.php/api/<path below /api/v1>?<query>.
 * The call goes to the bridge unchanged (method, path, query, body) with the signed identity of the person
 * signed in to Plesk, and the bridge's status and body come back unchanged. Roles and limits are the bridge's
 * business; this controller only authenticates, checks the forgery token on writes, and forwards.
 *
 * Zend_Controller_Action::dispatch() hands an action without its own method to __call(), so every path below
 * /api reaches forward().
 */
class ApiController extends pm_Controller_Action
{
    protected $_accessLevel = ['admin', 'reseller', 'client'];

    const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
    const SAFE_METHODS = ['GET'];
    // Path segments and query strings are passed on as written (the signature covers them): only characters
    // that need no re-encoding, and no "." or ".." segments.
    const PATH_PATTERN = '#^(/[A-Za-z0-9_~@%+=:,!$\'()*-][A-Za-z0-9._~@%+=:,!$\'()*-]*)*/?$#';
    const QUERY_PATTERN = '#^[A-Za-z0-9._~%&=+,:@*-]*$#';

    public function init()
    {
        parent::init();
        $this->_helper->layout()->disableLayout();
        $this->_helper->viewRenderer->setNoRender(true);
    }

    /** index.php/api/call?path=%2Fmailboxes%3Fpage%3D2: the one parameter holds path and query. */
    public function callAction()
    {
        $target = $this->getRequest()->getParam('path');
        if (!is_string($target) || $target === '') {
            return $this->answerError(400, 'Invalid API path.');
        }
        $at = strpos($target, '?');
        $this->forward($at === false ? $target : substr($target, 0, $at), $at === false ? '' : substr($target, $at + 1));
    }

    public function indexAction()
    {
        $this->forwardPathInfo();
    }

    public function __call($methodName, $arguments)
    {
        if (substr($methodName, -6) !== 'Action') {
            throw new BadMethodCallException("Method {$methodName} does not exist.");
        }
        $this->forwardPathInfo();
    }

    private function forwardPathInfo()
    {
        $request = $this->getRequest();
        $this->forward($this->pathBelowApi($request->getPathInfo()), (string) $request->getServer('QUERY_STRING'));
    }

    /** $path below /api/v1 (null: not an API path) and its query string, as the browser wrote them. */
    private function forward($path, $query)
    {
        $request = $this->getRequest();
        $method = strtoupper($request->getMethod());
        if (!in_array($method, self::METHODS, true)) {
            return $this->answerError(405, "Method {$method} is not supported.");
        }
        if ($path === null || !preg_match(self::PATH_PATTERN, $path) || !preg_match(self::QUERY_PATTERN, $query)) {
            return $this->answerError(400, 'Invalid API path.');
        }
        if (!in_array($method, self::SAFE_METHODS, true) && !$this->writeIsGenuine($request)) {
            return $this->answerError(403, 'The forgery-protection token is missing or wrong. Reload the page and try again.');
        }
        $body = (string) $request->getRawBody();
        try {
            $answer = Modules_OutgoingMailLimits_BridgeClient::forSession()
                ->request($method, $path . ($query === '' ? '' : '?' . $query), $body === '' ? null : $body);
        } catch (Modules_OutgoingMailLimits_BridgeUnavailableException $error) {
            return $this->answerError(503, $error->getMessage());
        }
        $this->getResponse()
            ->setHttpResponseCode($answer['status'])
            ->setHeader('Content-Type', $answer['contentType'] !== '' ? $answer['contentType'] : 'application/json; charset=utf-8', true)
            ->setBody($answer['body']);
    }

    /**
     * A write comes from the extension's own screen: sent by script (X-Requested-With), with the extension's token,
     * and past Plesk's own forgery check where this Plesk has one (Plesk\SDK\Middleware\Access\Csrf, 18.0.41+).
     */
    private function writeIsGenuine($request)
    {
        if ((string) $request->getHeader('X-Requested-With') !== 'XMLHttpRequest') {
            return false;
        }
        if (!Modules_OutgoingMailLimits_ForgeryToken::matches($request->getHeader(Modules_OutgoingMailLimits_ForgeryToken::HEADER))) {
            return false;
        }
        return Modules_OutgoingMailLimits_PleskCsrf::check($request) !== false;
    }

    /** "/api/mailboxes/x/limit" (or "/outgoing-mail-limits/api/...") → "/mailboxes/x/limit"; null if not below /api. */
    private function pathBelowApi($pathInfo)
    {
        $pathInfo = (string) $pathInfo;
        $at = strpos($pathInfo, '/api');
        if ($at === false) {
            return null;
        }
        $rest = substr($pathInfo, $at + 4);
        if ($rest !== '' && $rest[0] !== '/') {
            return null;
        }
        return $rest === '' ? '/' : $rest;
    }

    private function answerError($status, $message)
    {
        $this->getResponse()
            ->setHttpResponseCode($status)
            ->setHeader('Content-Type', 'application/json; charset=utf-8', true)
            ->setBody(json_encode(['error' => $message], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
    }
}
