<?php
// Plesk 18.0.41's forgery check for extensions (pm-api-stubs SDK/Middleware/Access/Csrf.php) with the PSR-15/PSR-7/
// PSR-17 interfaces it is written against, as far as the extension uses them, and a small PSR-7/PSR-17
// implementation for the tests (Plesk's own is not named by the stubs; see plib/library/PleskCsrf.php).

namespace Psr\Http\Message {
    interface ResponseInterface
    {
        public function getStatusCode();
    }

    interface ServerRequestInterface
    {
        public function getMethod();

        public function getHeaderLine($name);

        public function withHeader($name, $value);
    }

    interface ResponseFactoryInterface
    {
        public function createResponse(int $code = 200, string $reasonPhrase = ''): ResponseInterface;
    }

    interface ServerRequestFactoryInterface
    {
        public function createServerRequest(string $method, $uri, array $serverParams = []): ServerRequestInterface;
    }
}

namespace Psr\Http\Server {
    use Psr\Http\Message\ResponseInterface;
    use Psr\Http\Message\ServerRequestInterface;

    interface RequestHandlerInterface
    {
        public function handle(ServerRequestInterface $request): ResponseInterface;
    }

    interface MiddlewareInterface
    {
        public function process(ServerRequestInterface $request, RequestHandlerInterface $handler): ResponseInterface;
    }
}

namespace Plesk\SDK\Middleware\Access {
    use Psr\Http\Message\ResponseFactoryInterface;
    use Psr\Http\Message\ResponseInterface;
    use Psr\Http\Message\ServerRequestInterface;
    use Psr\Http\Server\MiddlewareInterface;
    use Psr\Http\Server\RequestHandlerInterface;

    /** Answers 403 unless a checked method carries the panel session's token (PleskStandIn_PanelSession). */
    class Csrf implements MiddlewareInterface
    {
        /** @var ResponseFactoryInterface */
        private $factory;
        private $limitMethods;

        public function __construct(ResponseFactoryInterface $factory, array $limitMethods = ['POST', 'PUT', 'PATCH', 'DELETE'])
        {
            $this->factory = $factory;
            $this->limitMethods = $limitMethods;
        }

        public function process(ServerRequestInterface $request, RequestHandlerInterface $handler): ResponseInterface
        {
            $token = \PleskStandIn_PanelSession::$forgeryToken;
            if (in_array($request->getMethod(), $this->limitMethods, true)
                && ($token === '' || !hash_equals($token, $request->getHeaderLine('X-Forgery-Protection-Token')))) {
                return $this->factory->createResponse(403);
            }
            return $handler->handle($request);
        }
    }
}

namespace {
    use Psr\Http\Message\ResponseFactoryInterface;
    use Psr\Http\Message\ResponseInterface;
    use Psr\Http\Message\ServerRequestFactoryInterface;
    use Psr\Http\Message\ServerRequestInterface;

    /** The forgery-protection token of the panel session, as Plesk keeps it for its own check. */
    final class PleskStandIn_PanelSession
    {
        public static $forgeryToken = '';
    }

    final class PleskStandIn_Response implements ResponseInterface
    {
        private $status;

        public function __construct($status)
        {
            $this->status = $status;
        }

        public function getStatusCode()
        {
            return $this->status;
        }
    }

    final class PleskStandIn_ServerRequest implements ServerRequestInterface
    {
        private $method;
        private $headers = [];

        public function __construct($method)
        {
            $this->method = $method;
        }

        public function getMethod()
        {
            return $this->method;
        }

        public function getHeaderLine($name)
        {
            return isset($this->headers[strtolower($name)]) ? $this->headers[strtolower($name)] : '';
        }

        public function withHeader($name, $value)
        {
            $copy = clone $this;
            $copy->headers[strtolower($name)] = (string) $value;
            return $copy;
        }
    }

    final class PleskStandIn_Psr17Factory implements ResponseFactoryInterface, ServerRequestFactoryInterface
    {
        public function createResponse(int $code = 200, string $reasonPhrase = ''): ResponseInterface
        {
            return new PleskStandIn_Response($code);
        }

        public function createServerRequest(string $method, $uri, array $serverParams = []): ServerRequestInterface
        {
            return new PleskStandIn_ServerRequest($method);
        }
    }
}
