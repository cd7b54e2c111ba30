<?php
// The Zend MVC pieces a Plesk controller uses: request, response, helpers, dispatch with _accessLevel.

class Zend_Controller_Request_Http
{
    public $method = 'GET';
    public $pathInfo = '/';
    public $params = [];
    public $headers = [];
    public $server = [];
    public $rawBody = '';

    public function __construct($method = 'GET', $pathInfo = '/', array $params = [], array $headers = [], $rawBody = '', $queryString = '')
    {
        $this->method = $method;
        $this->pathInfo = $pathInfo;
        $this->params = $params;
        foreach ($headers as $name => $value) {
            $this->headers[strtolower($name)] = $value;
        }
        $this->rawBody = $rawBody;
        $this->server['QUERY_STRING'] = $queryString;
    }

    public function getMethod()
    {
        return $this->method;
    }

    public function getPathInfo()
    {
        return $this->pathInfo;
    }

    public function getParam($name, $default = null)
    {
        return array_key_exists($name, $this->params) ? $this->params[$name] : $default;
    }

    public function getHeader($name)
    {
        $key = strtolower($name);
        return isset($this->headers[$key]) ? $this->headers[$key] : false;
    }

    public function getServer($name = null, $default = null)
    {
        return isset($this->server[$name]) ? $this->server[$name] : $default;
    }

    public function getRawBody()
    {
        return $this->rawBody === '' ? false : $this->rawBody;
    }
}

class Zend_Controller_Response_Http
{
    public $status = 200;
    public $headers = [];
    public $body = '';

    public function setHttpResponseCode($code)
    {
        $this->status = (int) $code;
        return $this;
    }

    public function setHeader($name, $value, $replace = false)
    {
        $this->headers[$name] = $value;
        return $this;
    }

    public function setBody($body)
    {
        $this->body = (string) $body;
        return $this;
    }

    public function appendBody($body)
    {
        $this->body .= $body;
        return $this;
    }
}

class Zend_Controller_Front
{
    private static $instance = null;
    public $request = null;

    public static function getInstance()
    {
        return self::$instance ?: (self::$instance = new self());
    }

    public function getRequest()
    {
        return $this->request;
    }
}

class pm_StandIn_Layout
{
    public $enabled = true;

    public function disableLayout()
    {
        $this->enabled = false;
    }
}

class pm_StandIn_ViewRenderer
{
    public $noRender = false;

    public function setNoRender($flag = true)
    {
        $this->noRender = $flag;
    }
}

class pm_StandIn_Helpers
{
    public $viewRenderer;
    private $layout;

    public function __construct()
    {
        $this->viewRenderer = new pm_StandIn_ViewRenderer();
        $this->layout = new pm_StandIn_Layout();
    }

    public function layout()
    {
        return $this->layout;
    }
}

/**
 * Dispatch as Plesk does it: the access level is checked first (admin / reseller / client), then init(),
 * then <action>Action() or, when there is no such method, __call() (Zend_Controller_Action::dispatch).
 */
abstract class pm_Controller_Action
{
    protected $_accessLevel = 'admin';
    protected $_helper;
    public $view;
    private $request;
    private $response;
    private $forwardTo = null;

    public function __construct(Zend_Controller_Request_Http $request, Zend_Controller_Response_Http $response)
    {
        $this->request = $request;
        $this->response = $response;
        $this->_helper = new pm_StandIn_Helpers();
        $this->view = new stdClass();
        Zend_Controller_Front::getInstance()->request = $request;
    }

    public function init()
    {
    }

    public function getRequest()
    {
        return $this->request;
    }

    public function getResponse()
    {
        return $this->response;
    }

    public function helpers()
    {
        return $this->_helper;
    }

    protected function _forward($action)
    {
        $this->forwardTo = $action;
    }

    public function dispatch($action)
    {
        $client = pm_Session::getClient();
        $type = $client->isAdmin() ? 'admin' : ($client->isReseller() ? 'reseller' : 'client');
        if (!in_array($type, (array) $this->_accessLevel, true)) {
            throw new pm_Exception('Access denied.');
        }
        $this->init();
        for ($hops = 0; $hops < 5; $hops++) {
            $method = lcfirst(str_replace(' ', '', ucwords(str_replace('-', ' ', $action)))) . 'Action';
            $this->forwardTo = null;
            if (method_exists($this, $method)) {
                $this->$method();
            } else {
                $this->__call($method, []);
            }
            if ($this->forwardTo === null) {
                return $this->response;
            }
            $action = $this->forwardTo;
        }
        throw new LogicException('Too many forwards.');
    }

    public function __call($methodName, $arguments)
    {
        throw new pm_Exception("Action \"{$methodName}\" does not exist.");
    }
}
