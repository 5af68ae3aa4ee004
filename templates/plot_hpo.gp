reset
{{setup}}
set output '{{png}}'
set title 'Hyper-parameter search: best score so far (minus validation loss) against trials, same budget'
set xlabel 'trial'
set ylabel 'best score so far'
plot 'hpo_grid.tsv' using 1:2 with linespoints lw 2 title columnheader(2), \
     'hpo_random.tsv' using 1:2 with linespoints lw 2 title columnheader(2), \
     'hpo_bayes.tsv' using 1:2 with linespoints lw 2 title columnheader(2)
unset output
