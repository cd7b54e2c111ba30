<?php
/**
 * Plesk's mail repair (`plesk repair mail`, Tools & Settings > Diagnose & Repair) rewrites Postfix's main.cf and
 * may drop the entries that connect Postfix to the outgoing mail limits service. When it runs, this hook has the
 * service check its wiring at once (POST /api/v1/postfix/wiring/check) rather than at its next 30-second check.
 *
 * PHP stays thin: the daemon (root) edits main.cf and reloads Postfix, and only ever puts back what
 * `outgoing-limits postfix wire` wrote, so this hook cannot wire a Postfix the administrator did not wire, whoever
 * runs it. Whether Plesk runs repair hooks as root or as the panel user is not documented (assumed: either); the
 * bridge socket is open to both.
 *
 * \Plesk\SDK\Hook\Repair\Mail exists since Plesk 18.0.52 (plesk/pm-api-stubs); the file name and class name follow
 * the convention of the other hooks (assumed for SDK hooks: not documented). On an older Plesk the class is
 * missing and this file defines nothing, so loading it never fails.
 */
if (class_exists('Plesk\SDK\Hook\Repair\Mail')) {
    class Modules_OutgoingMailLimits_RepairMail extends \Plesk\SDK\Hook\Repair\Mail
    {
        /** @var Modules_OutgoingMailLimits_BridgeClient|null */
        private $bridge;

        public function __construct(?Modules_OutgoingMailLimits_BridgeClient $bridge = null)
        {
            $this->bridge = $bridge;
        }

        public function repairAll(\Plesk\SDK\Repair\Context $context): void
        {
            $this->checkWiring();
        }

        /** A repair of some domains' mail may write main.cf too; the check is cheap and changes nothing when intact. */
        public function repairDomains(array $domainNames, \Plesk\SDK\Repair\Context $context): void
        {
            $this->checkWiring();
        }

        public function repairMailnames(array $mailnames, \Plesk\SDK\Repair\Context $context): void
        {
            $this->checkWiring();
        }

        /** Never lets Plesk's repair fail: a problem is logged, and the daemon's own checks go on. */
        private function checkWiring()
        {
            $bridge = $this->bridge ?: Modules_OutgoingMailLimits_BridgeClient::forIntegration();
            try {
                // An empty JSON object: the bridge takes a JSON body with every POST.
                $answer = $bridge->json('POST', '/postfix/wiring/check', new stdClass());
            } catch (Exception $error) {
                pm_Log::err('Outgoing mail limits: cannot have the Postfix wiring checked after the mail repair: ' . $error->getMessage());
                return;
            }
            $outcome = is_array($answer['data']) && isset($answer['data']['outcome']) ? $answer['data']['outcome'] : null;
            if ($answer['status'] === 404) {
                pm_Log::err('Outgoing mail limits: the service does not guard the Postfix wiring (started without --postfix-config-dir); run `outgoing-limits postfix wire` if the mail repair removed it.');
            } elseif ($answer['status'] !== 200 || $outcome === 'failed') {
                $why = is_array($answer['data']) ? (isset($answer['data']['error']) ? $answer['data']['error'] : json_encode($answer['data'])) : "HTTP {$answer['status']}";
                pm_Log::err("Outgoing mail limits: the Postfix wiring could not be repaired after the mail repair: {$why}");
            }
        }
    }
}
