reset
{{setup}}
# the tree sideways: depth to the right, one leaf per row; boxes, lines and
# text all come from tree.tsv (x, y, shade, condition, numbers, parent x, parent y)
set terminal pngcairo size 1000,{{height}} font "sans,9" noenhanced
set output '{{png}}'
set title 'Error tree: each box a condition, its rows, how often the model is wrong there and its share of all errors'
unset xtics
unset ytics
unset border
unset grid
unset key
unset colorbox
set xrange [-0.5:{{xmax}}]
set yrange [] reverse
set offsets 0, 0, 0.5, 0.5
set palette defined (0 '#ffffff', 0.5 '#f4c7c3', 1 '#d9544d')
set cbrange [0:1]
set style fill solid 1.0 border lc rgb '#6b7280'
plot 'tree.tsv' using ($6+0.46):7:($1-$6-0.92):($2-$7) with vectors nohead lw 1.5 lc rgb '#9aa3b2', \
     '' using 1:2:(0.46):(0.40):3 with boxxyerror fc palette, \
     '' using 1:($2-0.14):4 with labels font "sans,9", \
     '' using 1:($2+0.18):5 with labels font "sans,8" tc rgb '#333333'
unset output
