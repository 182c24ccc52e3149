<?php
return ['languages' => ['en' => ['name' => 'English', 'data' => ['pages' => 'pages.json'], 'version' => '1']]];
