<?php
// Plesk's SDK hook for mail repair, as plesk/pm-api-stubs declares it (SDK/Hook/Repair/Mail.php, since 18.0.52).

namespace Plesk\SDK\Hook {
    interface HookInterface extends \pm_Hook_Interface
    {
    }
}

namespace Plesk\SDK\Repair {
    class Context
    {
    }
}

namespace Plesk\SDK\Hook\Repair {
    abstract class Mail implements \Plesk\SDK\Hook\HookInterface
    {
        abstract public function repairAll(\Plesk\SDK\Repair\Context $context): void;

        abstract public function repairDomains(array $domainNames, \Plesk\SDK\Repair\Context $context): void;

        abstract public function repairMailnames(array $mailnames, \Plesk\SDK\Repair\Context $context): void;
    }
}
