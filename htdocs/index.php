<?php
// Entry point of the extension's pages inside Plesk: routes /modules/outgoing-mail-limits/index.php/<controller>/<action>.
(new pm_Application)->run();
