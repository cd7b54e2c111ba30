<?php
/**
 * Plesk's own forgery check for extensions: Plesk\SDK\Middleware\Access\Csrf (Plesk 18.0.41+, pm-api-stubs
 * SDK/Middleware/Access/Csrf.php), a PSR-15 middleware that answers 403 when the request lacks the panel's
 * forgery-protection token on POST, PUT, PATCH and DELETE. ApiController runs it on every write where this Plesk
 * has it, besides the extension's own token (ForgeryToken).
 *
 * Assumed, not documented: how Plesk wants an extension controller to run the middleware (the stubs show the
 * class only), and which PSR-7/PSR-17 implementation Plesk's PHP carries (the stubs require psr/http-factory,
 * an interface); the known implementations are tried in FACTORY_CLASSES. Where the middleware or a factory is
 * missing, check() says so (null) and the extension's own token stands alone.
 */
class Modules_OutgoingMailLimits_PleskCsrf
{
    /** The middleware's class; an older Plesk has none. */
    public static $middlewareClass = 'Plesk\SDK\Middleware\Access\Csrf';

    /** PSR-17 factories as [response factory, server request factory] class names, in the order they are tried. */
    public static $factoryClasses = [
        ['GuzzleHttp\Psr7\HttpFactory', 'GuzzleHttp\Psr7\HttpFactory'],
        ['Nyholm\Psr7\Factory\Psr17Factory', 'Nyholm\Psr7\Factory\Psr17Factory'],
        ['Laminas\Diactoros\ResponseFactory', 'Laminas\Diactoros\ServerRequestFactory'],
    ];

    /** The request headers Plesk's check reads (its token and the XMLHttpRequest marker) and the session cookie. */
    const FORWARDED_HEADERS = ['X-Forgery-Protection-Token', 'X-Requested-With', 'Cookie'];

    /**
     * Runs Plesk's check on the request: true when it lets the request through, false when it refuses it, null
     * when this Plesk has no such check (or nothing to build the request it reads).
     *
     * @param Zend_Controller_Request_Http $request
     */
    public static function check($request)
    {
        $middlewareClass = self::$middlewareClass;
        $factories = self::factories();
        if (!class_exists($middlewareClass) || $factories === null || !interface_exists('Psr\Http\Server\RequestHandlerInterface')) {
            return null;
        }
        list($responses, $requests) = $factories;
        $psrRequest = $requests->createServerRequest(strtoupper($request->getMethod()), self::requestUri(), $_SERVER);
        foreach (self::FORWARDED_HEADERS as $name) {
            $value = $request->getHeader($name);
            if (is_string($value) && $value !== '') {
                $psrRequest = $psrRequest->withHeader($name, $value);
            }
        }
        // The next handler only notes that the request got past the check; the extension answers it itself.
        $next = new class ($responses) implements \Psr\Http\Server\RequestHandlerInterface {
            public $reached = false;
            private $responses;

            public function __construct($responses)
            {
                $this->responses = $responses;
            }

            public function handle(\Psr\Http\Message\ServerRequestInterface $request): \Psr\Http\Message\ResponseInterface
            {
                $this->reached = true;
                return $this->responses->createResponse(200);
            }
        };
        try {
            $response = (new $middlewareClass($responses))->process($psrRequest, $next);
        } catch (Exception $refused) {
            // Plesk's middlewares may throw with a 4xx code instead of answering (see its ErrorHandler): a refusal.
            return false;
        }
        return $next->reached && $response->getStatusCode() < 400;
    }

    /** @return array|null [response factory, server request factory] of the first implementation present */
    private static function factories()
    {
        foreach (self::$factoryClasses as list($responseClass, $requestClass)) {
            if (class_exists($responseClass) && class_exists($requestClass)) {
                return [new $responseClass(), $responseClass === $requestClass ? new $responseClass() : new $requestClass()];
            }
        }
        return null;
    }

    private static function requestUri()
    {
        return isset($_SERVER['REQUEST_URI']) ? (string) $_SERVER['REQUEST_URI'] : '/';
    }
}
